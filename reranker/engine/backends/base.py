"""The one interface every engine implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from reranker.i18n import Lang


class Backend(ABC):
    """Scores complete Qwen3-Reranker prompts, given as token ids.

    Prompts are built and truncated by :mod:`reranker.engine.prompt`; a backend only runs the model
    and returns P("yes") = softmax(logit_no, logit_yes)[yes] for each prompt, in input order.
    """

    name: str = "?"
    #: Human-readable engine details for status lines, e.g. "bfloat16, 2 threads".
    description: str = ""
    #: Whether ``score_token_ids`` may run in several threads at once. In-process engines
    #: (vLLM's ``LLM``, a torch model) may not; the scorer serialises their calls.
    thread_safe: bool = False

    @abstractmethod
    def score_token_ids(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        """P("yes") for each prompt, in input order."""

    def describe(self, lang: Lang = "en") -> str:
        """:attr:`description` in ``lang``, for an agent's status details (as it is, by default)."""
        return self.description

    def reset_prefix_cache(self) -> None:  # noqa: B027 - optional hook
        """Forget prompt prefixes the engine keeps between calls (vLLM's prefix cache)."""

    def release_spare_memory(self) -> None:  # noqa: B027 - optional hook
        """Give the system back heap pages a finished call left free (after the warm-up)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most engines need nothing
        """Release the engine's resources."""


class EmbeddingBackend(ABC):
    """Embeds inputs given as token ids (built by ``reranker.retrieval.dense.EmbeddingEncoder``).

    Returns one float32 row per input, in input order, pooled and (when the model says so)
    L2-normalised. Not thread-safe: the ``Embedder`` serialises calls.
    """

    name: str = "?"
    description: str = ""

    @abstractmethod
    def embed_token_ids(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
        """One row per input, in input order."""

    def close(self) -> None:  # noqa: B027 - optional hook, most engines need nothing
        """Release the engine's resources."""
