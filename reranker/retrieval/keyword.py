"""Keyword search: BM25 (bm25s) over English stems (PyStemmer) and Chinese words (jieba).

>>> from reranker.knowledge.bases import BUNDLED_DIR, load_faq
>>> search_base(load_faq(BUNDLED_DIR / "zh_ecommerce_faq.csv"), "订单一直显示待发货怎么办？", top_k=1)[0].entry.id
'zh-001'
>>> index = KeywordIndex(["Use 'Forgot password'.", "Ships in 24 hours."],
...                      titles=["How do I reset my password?", "When will my order ship?"])
>>> [row for row, _ in index.search("forgot password", top_k=5)]
[0]
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
import threading
import time
import unicodedata
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np
import Stemmer

from reranker.errors import InvalidInput
from reranker.knowledge.bases import FaqEntry, KnowledgeBase

logger = logging.getLogger(__name__)


def _import_bm25s_without_numba() -> ModuleType:
    """bm25s, without the numba it imports when it can (+60 MB resident, measured with the engine's
    libraries loaded): the scores here come from its numpy/scipy path (``get_scores_from_ids``),
    which never uses numba. numba stays importable for anything else afterwards."""
    blocked = "numba" not in sys.modules
    if blocked:
        sys.modules["numba"] = None  # type: ignore[assignment]  # ``import numba`` raises ImportError
    try:
        return importlib.import_module("bm25s")
    finally:
        if blocked and sys.modules.get("numba", ...) is None:
            del sys.modules["numba"]


bm25s = _import_bm25s_without_numba()
# bm25s sets its own logger to DEBUG on import, which floods every CLI's stderr.
logging.getLogger("bm25s").setLevel(logging.WARNING)

#: Titles (an FAQ's question and its alternative phrasings) count this many times as much as the text.
TITLE_WEIGHT = 2

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")  # (Chinese run, other word)
# Only words that carry no meaning in an FAQ question. English pronouns and question words
# ("my", "how", "not") stay: they help match how customers phrase things (measured on the
# bundled query sets). Chinese particles, pronouns and question words go.
_STOPWORD_TEXT = """
a an the s t d ll m re ve
的 了 吗 呢 吧 啊 呀 嘛 哦 么 我 我们 你 你们 您 他 她 它 是 在 和 与 及 或 就 都 也 还 又
把 被 给 让 这 那 这个 那个 怎么 怎么办 怎么样 怎样 如何 什么 请问 一下 可以 能 为什么
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


class KeywordIndex:
    """A BM25 index over ``texts`` (and optional ``titles``, weighted :data:`TITLE_WEIGHT` times).

    Built once in the constructor; :meth:`search` answers ``(row, score)`` pairs.
    """

    def __init__(self, texts: Sequence[str], *, titles: Sequence[str] | None = None) -> None:
        if titles is not None and len(titles) != len(texts):
            raise ValueError("texts and titles must have the same length")
        started = time.perf_counter()
        documents = [tokenize(text, segment=False) for text in texts]
        if titles is not None:
            documents = [tokenize(title) * TITLE_WEIGHT + doc for title, doc in zip(titles, documents)]
        self._bm25 = bm25s.BM25()
        self._bm25.index(documents, show_progress=False)
        logger.debug("Indexed %d texts in %.2f s", len(documents), time.perf_counter() - started)

    def search(self, query: str, top_k: int) -> list[tuple[int, float]]:
        """The ``top_k`` rows sharing the most informative words with ``query``, best first.

        Rows sharing no word with the query are never returned, so the list can be shorter
        than ``top_k`` (or empty). Equal scores keep row order.
        """
        if top_k < 1:
            raise InvalidInput(f"The number of candidates must be at least 1, got {top_k}.")
        token_ids = self._bm25.get_tokens_ids(tokenize(query))
        if not token_ids:
            return []
        scores = self._bm25.get_scores_from_ids(token_ids)
        k = min(top_k, int(np.count_nonzero(scores > 0)))
        if k == 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((best, -scores[best]))]
        return [(int(row), float(scores[row])) for row in best]


def tokenize(text: str, *, segment: bool = True) -> list[str]:
    """Search tokens: lowercased, NFKC-normalised words without stopwords or punctuation.

    English words are Snowball-stemmed (PyStemmer); Chinese is segmented by jieba (search
    mode, unless ``segment=False``) and also contributes its character bigrams and characters,
    so variants jieba splits differently ("退钱" / "退款") still share tokens.

    >>> tokenize("Shipping costs?")
    ['ship', 'cost']
    >>> tokenize("到账了吗")
    ['到', '账', '到账', '账了', '了吗', '到', '账']
    """
    tokens: list[str] = []
    for chinese, word in _RUNS.findall(unicodedata.normalize("NFKC", text).casefold()):
        if word:
            tokens.append(_stem(word))
            continue
        if segment:
            tokens.extend(_jieba().lcut_for_search(chinese, HMM=False))
        if len(chinese) > 1:
            tokens.extend(map(str.__add__, chinese, chinese[1:]))
            tokens.extend(chinese)
    return [token for token in tokens if token not in _STOPWORDS]


def _stem(word: str) -> str:
    return _stemmer().stemWord(word) if word.isascii() and word.isalpha() else word


@cache
def _stemmer() -> Stemmer.Stemmer:
    """The Snowball English stemmer (it caches the words it has seen)."""
    return Stemmer.Stemmer("english")


@cache
def _jieba() -> ModuleType:
    """jieba, with its dictionary loaded once and its start-up chatter silenced."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@dataclass(frozen=True)
class SearchHit:
    """A keyword-recall result: the entry and its BM25 score (higher is better)."""

    entry: FaqEntry
    score: float


_INDEXES: weakref.WeakKeyDictionary[KnowledgeBase, KeywordIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def base_index(kb: KnowledgeBase) -> KeywordIndex:
    """The base's BM25 index over answer, question and similar questions: built once per loaded base."""
    with _INDEXES_LOCK:
        index = _INDEXES.get(kb)
        if index is None:
            index = _INDEXES[kb] = KeywordIndex(
                [entry.answer for entry in kb.entries],
                titles=[" ".join((entry.question, *entry.similar_questions)) for entry in kb.entries],
            )
        return index


def search_base(kb: KnowledgeBase, query: str, top_k: int = 20) -> list[SearchHit]:
    """The ``top_k`` entries sharing the most informative words with ``query``, best first.

    Entries that share no word with the query are never returned, so the list can be shorter
    than ``top_k`` (or empty).

    >>> from reranker.knowledge.bases import BUNDLED_DIR, load_faq
    >>> search_base(load_faq(BUNDLED_DIR / "en_store_faq.csv"), "forgot my password", top_k=1)[0].entry.question
    'How do I reset my password?'
    """
    return [SearchHit(kb.entries[row], score) for row, score in base_index(kb).search(query, top_k)]
