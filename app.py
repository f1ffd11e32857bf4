"""FAQ Rerank Desk: ``python app.py [--host H] [--port P] [--share --auth USER:PASSWORD] ...``.

The same as ``faq-rerank-desk serve`` (:mod:`reranker.cli.main`): parses the flags and serves.
``python app.py --help`` lists every flag and its ``RERANKER_*`` environment variable.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from reranker.cli.main import main as cli


def main(argv: Sequence[str] | None = None) -> int:
    return cli(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
