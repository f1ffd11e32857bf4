"""``python -m reranker.evaluate …``: the same command as ``faq-rerank-desk evaluate …``."""

import sys

from reranker.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
