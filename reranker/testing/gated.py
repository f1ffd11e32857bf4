"""A backend that holds a request mid-scoring until the test lets it go.

>>> gate = GatedBackend(); scorer = Scorer(backend=gate, encoder=encoder, model="gated")  # doctest: +SKIP
>>> pending = pool.submit(scorer.score, "q", ["d"]); gate.entered.wait(10)               # doctest: +SKIP
>>> gate.release.set(); pending.result()                                                  # doctest: +SKIP
[0.5]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from reranker.engine.backends.base import Backend


class GatedBackend(Backend):
    """Blocks in ``score_token_ids`` until released, to catch a request mid-scoring; scores 0.5."""

    name = "gated"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def score_token_ids(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        self.entered.set()
        self.release.wait(30)
        return [0.5] * len(prompts)
