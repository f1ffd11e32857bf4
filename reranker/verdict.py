"""The confidence verdict: may the best answer be sent, or does the question go to a human?

One threshold on the reranker's P("yes"): at or above it the best answer is *confident*. Every
place that judges (the desk's banner, Batch, the FAQ search route, calibration, the store's
per-base thresholds) uses these two functions, so they cannot drift.

>>> is_confident(0.5, DEFAULT_THRESHOLD), is_confident(0.49, 0.5), is_confident(None, 0.5)
(True, False, False)
"""

from __future__ import annotations

from reranker.errors import InvalidInput

#: The threshold an agent starts with when the base has none stored.
DEFAULT_THRESHOLD = 0.5


def check_threshold(threshold: float) -> float:
    """The threshold as a float; ``InvalidInput`` outside 0-1 (reranker scores are P("yes"))."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise InvalidInput.of("err_threshold", threshold=threshold)
    return float(threshold)


def is_confident(score: float | None, threshold: float) -> bool:
    """Whether a reranker score (None: no scored answer) is confident at ``threshold``."""
    return score is not None and score >= threshold
