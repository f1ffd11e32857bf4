"""``python -m reranker.store``: the team database's commands (see :mod:`reranker.store.cli`)."""

import sys

from reranker.store.cli import main

sys.exit(main())
