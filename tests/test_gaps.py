"""Knowledge gaps: unanswered questions grouped by topic, largest first, the same topic together."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from reranker.feedback.gaps import GapQuestion, _cluster, find_gaps, keyword_vectors
from reranker.knowledge.bases import BUNDLED_DIR
from reranker.knowledge.labelled import load_queries


def labelled_questions(prefix: str) -> tuple[list[str], list[str]]:
    """The in-scope questions of a base's plain and chatty sets, and the entry each is about."""
    queries = [q for name in ("queries", "queries_chatty")
               for q in load_queries(BUNDLED_DIR / f"{prefix}_{name}.csv") if q.relevant_ids]  # fmt: skip
    return [q.query for q in queries], [q.relevant_ids[0] for q in queries]


@pytest.mark.parametrize("prefix", ["en_store", "zh_ecommerce"])
def test_questions_about_the_same_entry_end_up_in_the_same_topic(prefix):
    from reranker.feedback.gaps import KEYWORD_DISTANCE

    texts, entries = labelled_questions(prefix)
    assert adjusted_rand_score(entries, _cluster(keyword_vectors(texts), KEYWORD_DISTANCE)) > 0.55


def test_topics_come_largest_first_with_their_dates_and_samples():
    asked = [GapQuestion("do you ship to mars", "2026-12-01T10:00"), GapQuestion("can I pay in seashells", "2026-12-02T09:00"),
             GapQuestion("shipping to mars?", "2026-12-05T08:00"), GapQuestion("ship my order to mars please", "2026-12-03T08:00")]  # fmt: skip
    mars, shells = find_gaps(asked)
    assert (mars.count, mars.first_seen, mars.last_seen, shells.count) == (3, "2026-12-01T10:00", "2026-12-05T08:00", 1)
    others = [q.question for q in sorted(asked, key=lambda q: q.time, reverse=True) if "mars" in q.question]
    assert mars.question in others and list(mars.samples) == [q for q in others if q != mars.question]  # newest first
    assert len(mars.id) == 12 and mars.id != shells.id


def test_embeddings_are_used_when_given():
    seen = []

    def embed(texts):
        seen.extend(texts)
        return np.eye(len(texts))  # every question its own direction: no two share a topic

    assert [gap.count for gap in find_gaps([GapQuestion("a b", "1"), GapQuestion("a b", "2")], embed=embed)] == [1, 1]
    assert seen == ["a b", "a b"]


def test_no_questions_no_gaps_and_a_question_without_words_is_its_own_topic():
    assert find_gaps([]) == []
    assert [gap.count for gap in find_gaps([GapQuestion("???", "1"), GapQuestion("refund please", "2")])] == [1, 1]
