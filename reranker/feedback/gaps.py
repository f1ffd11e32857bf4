"""Knowledge gaps: the questions no FAQ entry answered, grouped by topic for the lead.

A gap question is one an agent marked "None of these", or one whose best answer scored below the
base's threshold. Questions about the same thing are grouped: by their embeddings when an
embedding model is loaded, else by keyword vectors (TF-IDF over the keyword search's own tokens:
English stems, Chinese words and bigrams), with scikit-learn's agglomerative clustering on cosine
distance (average linkage), so the number of topics follows the questions, not a setting. Each
topic has a representative question (the one closest to the others), its size, first and last
time seen, and samples; the largest topics come first.

>>> questions = [GapQuestion("Do you ship to Mars?", "2026-12-01T10:00"), GapQuestion("Shipping to Mars?", "2026-12-03T09:00"),
...              GapQuestion("Can I pay with seashells?", "2026-12-02T11:00")]
>>> [(gap.count, gap.first_seen, gap.last_seen) for gap in find_gaps(questions)]
[(2, '2026-12-01T10:00', '2026-12-03T09:00'), (1, '2026-12-02T11:00', '2026-12-02T11:00')]
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from reranker.retrieval.keyword import tokenize

#: Questions closer than this (cosine distance, average linkage) are one topic. Chosen on the
#: bundled plain + chatty query sets, grouping in-scope questions against their labelled entry
#: (adjusted Rand index): keyword vectors en .597 / zh .654 at 0.75 (.517/.568 at 0.7, .427/.628 at
#: 0.8); all-MiniLM-L6-v2 embeddings en .560 at 0.55 (.547 at 0.5, .549 at 0.6) and zh ~0 (an
#: English model). Keyword vectors need the looser cut: rephrasings share few words.
KEYWORD_DISTANCE = 0.75
EMBEDDING_DISTANCE = 0.55
SAMPLES = 5


@dataclass(frozen=True)
class GapQuestion:
    """One unanswered question and when it was asked (ISO 8601)."""

    question: str
    time: str


@dataclass(frozen=True)
class Gap:
    """One topic nobody's FAQ answered: ``question`` represents it; ``samples`` are the most recent others."""

    id: str
    question: str
    count: int
    first_seen: str
    last_seen: str
    samples: tuple[str, ...]
    #: Every question of the topic (each once), the representative first.
    questions: tuple[str, ...] = ()


def find_gaps(questions: Sequence[GapQuestion], embed: Callable[[Sequence[str]], np.ndarray] | None = None,
              distance: float | None = None) -> list[Gap]:  # fmt: skip
    """The gap questions grouped by topic, largest first (then most recent).

    ``embed(texts)`` gives unit-length rows (the desk's embedder); without it keyword vectors are
    used. ``distance``: the cosine distance under which questions join a topic.
    """
    if not questions:
        return []
    texts = [q.question for q in questions]
    vectors = embed(texts) if embed is not None else keyword_vectors(texts)
    labels = _cluster(vectors, distance if distance is not None else (EMBEDDING_DISTANCE if embed else KEYWORD_DISTANCE))
    gaps = [_gap([q for q, label in zip(questions, labels) if label == topic],
                 vectors[labels == topic]) for topic in sorted(set(labels))]  # fmt: skip
    return sorted(gaps, key=lambda gap: (-gap.count, _negated(gap.last_seen)))


def keyword_vectors(texts: Sequence[str]) -> np.ndarray:
    """TF-IDF rows (unit length) over the keyword search's tokens; a question without any is all zeros."""
    vectorizer = TfidfVectorizer(analyzer=lambda text: tokenize(text) or ["\0"], norm="l2")
    return vectorizer.fit_transform(texts).toarray()


def _cluster(vectors: np.ndarray, distance: float) -> np.ndarray:
    if len(vectors) == 1:
        return np.zeros(1, dtype=int)
    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=distance)  # fmt: skip
    return model.fit_predict(np.asarray(vectors, dtype=np.float64) + 1e-12)  # no all-zero row: cosine needs a norm


def _gap(members: list[GapQuestion], vectors: np.ndarray) -> Gap:
    centre = vectors.mean(axis=0)
    representative = members[int(np.argmax(vectors @ centre))]
    times = sorted(member.time for member in members)
    recent = sorted(members, key=lambda member: member.time, reverse=True)
    samples = tuple(dict.fromkeys(m.question for m in recent if m.question != representative.question))[:SAMPLES]
    digest = hashlib.sha256(" ".join(representative.question.split()).casefold().encode()).hexdigest()[:12]
    questions = tuple(dict.fromkeys([representative.question, *(m.question for m in recent)]))
    return Gap(digest, representative.question, len(members), times[0], times[-1], samples, questions)


def _negated(time: str) -> tuple[int, ...]:
    """A sort key that puts later ISO times first."""
    return tuple(-ord(char) for char in time)
