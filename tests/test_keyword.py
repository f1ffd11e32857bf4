"""Keyword search: tokens (Snowball stems, jieba words, Chinese bigrams) and the BM25 index."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reranker.errors import InvalidInput
from reranker.retrieval import KeywordIndex, tokenize


def test_tokenize_normalises_full_width_text_and_stems_english():
    assert tokenize("ＡＰＩ keys, Shipping!") == ["api", "key", "ship"]


def test_english_inflections_share_a_stem():
    assert tokenize("refunds refunded refunding") == ["refund"] * 3
    assert tokenize("delivery deliveries") == tokenize("delivery delivery")


def test_rows_are_returned_best_first_with_positive_scores():
    index = KeywordIndex(["refund in 5 days", "shipping is free", "refund refund policy"])

    hits = index.search("refund", top_k=5)

    assert [row for row, _ in hits] == [2, 0]
    assert hits[0][1] > hits[1][1] > 0


def test_a_word_in_the_title_outweighs_the_same_word_in_the_text():
    index = KeywordIndex(
        ["Refunds take 5 days.", "Track it in the app."], titles=["Money back?", "Refund status"]
    )

    assert [row for row, _ in index.search("refund", top_k=2)] == [1, 0]


def test_titles_must_match_texts_one_to_one():
    with pytest.raises(ValueError, match="same length"):
        KeywordIndex(["a", "b"], titles=["a"])


def test_top_k_below_one_is_an_invalid_input():
    with pytest.raises(InvalidInput, match="at least 1"):
        KeywordIndex(["refund"]).search("refund", top_k=0)


def test_keyword_search_leaves_numba_unloaded_and_importable():
    """bm25s imports numba when it can (+60 MB resident); the scores here never use it."""
    code = (
        "import sys; import reranker.retrieval.keyword as k; loaded = 'numba' in sys.modules; "
        "import numba; print(loaded, k.bm25s.BM25().backend)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert shown.stdout.split() == ["False", "numpy"]
