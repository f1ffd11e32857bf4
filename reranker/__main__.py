"""``python -m reranker …``: the command line (:mod:`reranker.cli`)."""

import sys

from reranker.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
