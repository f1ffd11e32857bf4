"""FAQ knowledge bases: read CSV files the way support teams actually save them, find candidates.

A knowledge base is a CSV with one FAQ per row. ``load_faq`` accepts the column names people
use in practice (``question``/``问题``/``title``, ``answer``/``答案``/``reply``, ...), UTF-8 with
or without BOM, GBK/GB18030, and comma, semicolon or tab separators. ``KnowledgeBase.search`` is
the keyword recall step: BM25 over question, similar questions and answer, with Chinese
segmented by jieba, that picks the candidates the reranker then orders.

>>> kb = load_faq(BUNDLED_DIR / "zh_ecommerce_faq.csv")
>>> kb.search("订单一直显示待发货怎么办？", top_k=1)[0].entry.id
'zh-001'
"""

from __future__ import annotations

import io
import logging
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType

import bm25s
import numpy as np
import pandas as pd

from reranker.errors import InvalidInput

logger = logging.getLogger(__name__)
#: Keyword-search candidates handed to the reranker unless the user picks another number.
DEFAULT_TOP_K = 20
# bm25s sets its own logger to DEBUG on import, which floods every CLI's stderr.
logging.getLogger("bm25s").setLevel(logging.WARNING)

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "knowledge_base"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

# Accepted header names, compared after _header_key (case, spaces, "_" and "-" ignored).
QUESTION_COLUMNS = ("question", "q", "问题", "标题", "title")
ANSWER_COLUMNS = ("answer", "a", "答案", "回答", "reply", "response")
ID_COLUMNS = ("id", "faq_id", "编号")
CATEGORY_COLUMNS = ("category", "分类", "类别", "topic")
SIMILAR_COLUMNS = ("similar_questions", "similar", "相似问题")
QUERY_COLUMNS = ("query", "question", "问题", "查询")
RELEVANT_COLUMNS = ("relevant_ids", "relevant", "ids", "答案编号", "相关编号")

# The question and its alternative phrasings count this many times as much as the answer.
QUESTION_WEIGHT = 2

_BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # zip (.xlsx, .docx) and OLE (.xls)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode Text" export
_SEPARATORS = (",", ";", "\t")
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


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ: the reranker scores ``text`` (the answer, or the question when there is none).

    >>> FaqEntry("en-001", "How long does shipping take?", "3-5 business days.").text
    '3-5 business days.'
    """

    id: str
    question: str
    answer: str
    category: str = ""
    similar_questions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.answer or self.question


@dataclass(frozen=True)
class SearchHit:
    """A keyword-recall result: the entry and its BM25 score (higher is better)."""

    entry: FaqEntry
    score: float


@dataclass(frozen=True)
class LabelledQuery:
    """A test query and the ids of the FAQ entries that answer it (empty: out of scope)."""

    query: str
    relevant_ids: tuple[str, ...]


class KnowledgeBase:
    """FAQ entries with a BM25 index over them, built once in the constructor.

    >>> kb = KnowledgeBase([FaqEntry("1", "How do I reset my password?", "Use 'Forgot password'.")])
    >>> [hit.entry.id for hit in kb.search("forgot password")]
    ['1']
    """

    def __init__(self, entries: Sequence[FaqEntry], skipped_rows: int = 0) -> None:
        self.entries: list[FaqEntry] = list(entries)
        self.skipped_rows = skipped_rows
        self._by_id = {entry.id: entry for entry in self.entries}
        if not self.entries:
            raise ValueError("A KnowledgeBase needs at least one entry.")
        if len(self._by_id) != len(self.entries):
            raise ValueError("FaqEntry ids must be unique; load_faq reports duplicates by row.")
        started = time.perf_counter()
        self._index = bm25s.BM25()
        self._index.index([_document_tokens(entry) for entry in self.entries], show_progress=False)
        logger.debug("Indexed %d FAQ entries in %.2f s", len(self.entries), time.perf_counter() - started)

    def __len__(self) -> int:
        return len(self.entries)

    def by_id(self, entry_id: str) -> FaqEntry:
        """The entry with this id; raises ``InvalidInput`` if there is none."""
        try:
            return self._by_id[entry_id]
        except KeyError:
            raise InvalidInput(f"No FAQ entry has the id {entry_id!r}.") from None

    def search(self, query: str, top_k: int = DEFAULT_TOP_K) -> list[SearchHit]:
        """The ``top_k`` entries sharing the most informative words with ``query``, best first.

        Entries that share no word with the query are never returned, so the list can be
        shorter than ``top_k`` (or empty).

        >>> kb = load_faq(BUNDLED_DIR / "en_store_faq.csv")
        >>> kb.search("forgot my password", top_k=1)[0].entry.question
        'How do I reset my password?'
        """
        if top_k < 1:
            raise InvalidInput(f"The number of candidates must be at least 1, got {top_k}.")
        token_ids = self._index.get_tokens_ids(tokenize(query))
        if not token_ids:
            return []
        scores = self._index.get_scores_from_ids(token_ids)
        k = min(top_k, int(np.count_nonzero(scores > 0)))
        if k == 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((best, -scores[best]))]
        return [SearchHit(self.entries[i], float(scores[i])) for i in best]


def tokenize(text: str, *, segment: bool = True) -> list[str]:
    """Search tokens: lowercased, NFKC-normalised words without stopwords or punctuation.

    English words are lightly stemmed; Chinese is segmented by jieba (search mode) and also
    contributes its character bigrams and characters, so variants jieba splits differently
    ("退钱" / "退款") still share tokens.

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


def read_table(source: str | Path | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> pd.DataFrame:
    """Read a CSV file (a path, or the uploaded bytes) into a table of strings.

    Tries UTF-8 (with or without BOM), then GB18030 (a superset of GBK); guesses the separator
    (comma, semicolon or tab) from the header line; missing values become "". Raises
    ``InvalidInput`` with a sentence a support agent can act on when the file can't be used.

    >>> read_table("问题;答案\\n怎么退货？;在订单页申请。".encode("gbk")).columns.tolist()
    ['问题', '答案']
    """
    name = _describe(source)
    text = _decode(_read_bytes(source, max_bytes), name)
    if not text.strip():
        raise InvalidInput(f"{name} is empty. Upload a CSV file with a header row and data rows.")
    try:
        table = pd.read_csv(io.StringIO(text), sep=_guess_separator(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise InvalidInput(
            f"{name} could not be read as CSV ({error}). Wrap values that contain the "
            f"separator or line breaks in double quotes."
        ) from None
    if table.empty:
        raise InvalidInput(f"{name} has a header row but no data rows.")
    table.columns = [str(column).strip() for column in table.columns]
    return table.fillna("")


def load_faq(source: str | Path | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> KnowledgeBase:
    """Load an FAQ CSV: a question column is required; answer, id, category, similar optional.

    Rows without an id get ``row-N`` (N counts data rows from 1); rows with neither question nor
    answer are skipped and counted in ``skipped_rows``.

    >>> kb = load_faq("question,answer\\nHow do I reset my password?,Use 'Forgot password'.".encode())
    >>> kb.entries[0].id, len(kb)
    ('row-1', 1)
    """
    table = read_table(source, max_bytes=max_bytes)
    name = _describe(source)
    question_column = _require_column(table, name, "question", QUESTION_COLUMNS)
    answer_column = _find_column(table, ANSWER_COLUMNS)
    id_column = _find_column(table, ID_COLUMNS)
    category_column = _find_column(table, CATEGORY_COLUMNS)
    similar_column = _find_column(table, SIMILAR_COLUMNS)

    entries: list[FaqEntry] = []
    rows_by_id: dict[str, list[int]] = {}
    skipped = 0
    for row_number, row in enumerate(table.to_dict("records"), start=1):
        question = row[question_column].strip()
        answer = row[answer_column].strip() if answer_column else ""
        if not question and not answer:
            skipped += 1
            continue
        entry_id = (row[id_column].strip() if id_column else "") or f"row-{row_number}"
        rows_by_id.setdefault(entry_id, []).append(row_number)
        entries.append(
            FaqEntry(
                id=entry_id,
                question=question,
                answer=answer,
                category=row[category_column].strip() if category_column else "",
                similar_questions=_split_pipes(row[similar_column]) if similar_column else (),
            )
        )
    duplicate = next((i for i, rows in rows_by_id.items() if len(rows) > 1), None)
    if duplicate is not None:
        rows = ", ".join(str(row) for row in rows_by_id[duplicate])
        raise InvalidInput(
            f"{name} uses the id {duplicate!r} more than once (data rows {rows}). "
            f"Give every FAQ its own id, or delete the id column to number rows automatically."
        )
    if not entries:
        raise InvalidInput(f"{name} has no row with a question or an answer.")
    logger.info("Loaded %d FAQ entries (%s; %d empty rows skipped)", len(entries), name.lower(), skipped)
    return KnowledgeBase(entries, skipped_rows=skipped)


def load_queries(
    source: str | Path | bytes,
    *,
    known_ids: Set[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[LabelledQuery]:
    """Load labelled queries: ``query`` and ``relevant_ids`` (``|``-separated, empty = out of scope).

    With ``known_ids``, every relevant id must be one of them.

    >>> load_queries("query,relevant_ids\\nwhere is my parcel,en-004|en-005".encode())
    [LabelledQuery(query='where is my parcel', relevant_ids=('en-004', 'en-005'))]
    """
    table = read_table(source, max_bytes=max_bytes)
    name = _describe(source)
    query_column = _require_column(table, name, "query", QUERY_COLUMNS)
    relevant_column = _require_column(table, name, "relevant ids", RELEVANT_COLUMNS)
    queries = [
        LabelledQuery(row[query_column].strip(), _split_pipes(row[relevant_column]))
        for row in table.to_dict("records")
        if row[query_column].strip()
    ]
    if known_ids is not None:
        unknown = list(dict.fromkeys(i for q in queries for i in q.relevant_ids if i not in known_ids))
        if unknown:
            listed = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise InvalidInput(
                f"{name} refers to {len(unknown)} id(s) that are not in the knowledge base: "
                f"{listed}. Check that the queries file belongs to this FAQ file."
            )
    return queries


def bundled_bases() -> dict[str, Path]:
    """The FAQ files shipped in ``knowledge_base/``, by display name."""
    return {
        "中文电商 FAQ (zh_ecommerce_faq.csv)": BUNDLED_DIR / "zh_ecommerce_faq.csv",
        "English store FAQ (en_store_faq.csv)": BUNDLED_DIR / "en_store_faq.csv",
    }


def bundled_query_sets() -> dict[str, Path]:
    """The labelled query sets shipped in ``knowledge_base/``, by display name."""
    return {
        "中文电商测试问题 (zh_ecommerce_queries.csv)": BUNDLED_DIR / "zh_ecommerce_queries.csv",
        "English store test queries (en_store_queries.csv)": BUNDLED_DIR / "en_store_queries.csv",
    }


def _document_tokens(entry: FaqEntry) -> list[str]:
    question_tokens = tokenize(" ".join((entry.question, *entry.similar_questions)))
    return question_tokens * QUESTION_WEIGHT + tokenize(entry.answer, segment=False)


@cache
def _jieba() -> ModuleType:
    """jieba, with its dictionary loaded once and its start-up chatter silenced."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """Cheap English suffix stripping: ships/shipped/shipping -> ship, charges/charged -> charg."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix, min_length in (("ing", 6), ("ed", 5)):
        if word.endswith(suffix) and len(word) >= min_length:
            word = word[: -len(suffix)]
            if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiouslz":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _read_bytes(source: str | Path | bytes, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        size = len(source)
    else:
        try:
            size = Path(source).stat().st_size
        except FileNotFoundError:
            raise InvalidInput(f"Cannot find the file {source}. Check the path.") from None
    if size > max_bytes:
        raise InvalidInput(
            f"{_describe(source)} is {_size(size)}; the limit is {_size(max_bytes)}. "
            f"Split it into smaller files."
        )
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def _decode(data: bytes, name: str) -> str:
    if data.startswith(_UTF16_BOMS):
        encodings: tuple[str, ...] = ("utf-16",)
    elif data.startswith(_BINARY_MAGIC) or b"\x00" in data:
        raise InvalidInput(
            f"{name} looks like an Excel/binary file, not CSV text. Save it as CSV "
            f"(in Excel: File > Save As > CSV UTF-8) and upload that file."
        )
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        f"{name} is not UTF-8 or GBK text, so its characters can't be read. "
        f"Save it as CSV UTF-8 and upload it again."
    )


def _guess_separator(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {separator: header.count(separator) for separator in _SEPARATORS}
    return max(_SEPARATORS, key=lambda separator: counts[separator])


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def _find_column(table: pd.DataFrame, accepted: Iterable[str]) -> str | None:
    by_key = {}
    for column in table.columns:
        by_key.setdefault(_header_key(column), column)
    return next((by_key[key] for key in map(_header_key, accepted) if key in by_key), None)


def _require_column(table: pd.DataFrame, name: str, role: str, accepted: Sequence[str]) -> str:
    """The column for ``role``; ``InvalidInput`` naming the columns found and accepted if none."""
    column = _find_column(table, accepted)
    if column is None:
        found = ", ".join(table.columns) or "none"
        raise InvalidInput(
            f"{name} has no {role} column. Columns found: {found}. "
            f"Name the {role} column one of: {', '.join(accepted)}."
        )
    return column


def _split_pipes(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split("|") if part.strip())


def _describe(source: str | Path | bytes) -> str:
    return "The uploaded file" if isinstance(source, bytes) else f"The file {Path(source).name}"


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"
