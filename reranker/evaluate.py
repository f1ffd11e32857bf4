"""``python -m reranker.evaluate …``: the same command as ``python -m reranker evaluate …``."""

import sys

from reranker.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
