"""FAQ Rerank Desk: ``python app.py [--host H] [--port P] [--share --auth USER:PASSWORD] ...``.

Parses the flags and serves (:func:`reranker.server.serve.serve`). ``python app.py --help`` lists
every flag and its ``RERANKER_*`` environment variable.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from reranker.config import parse_args
from reranker.server.serve import serve


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else a line per Gradio start-up probe
    return serve(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
