"""FAQ knowledge bases: the FAQ entries of a CSV file, and the keyword search over them.

A knowledge base is a CSV with one FAQ per row (read by :mod:`reranker.knowledge.tabular`). ``load_faq``
accepts the column names people use in practice (``question``/``问题``/``title``,
``answer``/``答案``/``reply``, ...); cells are cleaned (NFC, trimmed) as they are read. Searching a
base is the first stage's job (:func:`reranker.retrieval.keyword.search_base`).

>>> kb = load_faq(BUNDLED_DIR / "zh_ecommerce_faq.csv")
>>> kb.by_id("zh-001").question
'订单一直显示待发货怎么办？'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reranker.errors import InvalidInput
from reranker.knowledge.tabular import (
    DEFAULT_MAX_BYTES,
    describe,
    find_column,
    read_table,
    require_column,
    split_pipes,
)
from reranker.shipped import shipped
from reranker.text import clean

logger = logging.getLogger(__name__)
#: Keyword-search candidates handed to the reranker unless the user picks another number.
DEFAULT_TOP_K = 20

BUNDLED_DIR = shipped("knowledge_base")

# Accepted header names (traditional Chinese after simplified), compared ignoring case, spaces,
# "_" and "-".
QUESTION_COLUMNS = ("question", "q", "问题", "标题", "title", "問題", "標題")
ANSWER_COLUMNS = ("answer", "a", "答案", "回答", "reply", "response")
ID_COLUMNS = ("id", "faq_id", "编号", "編號")
CATEGORY_COLUMNS = ("category", "分类", "类别", "topic", "分類", "類別")
SIMILAR_COLUMNS = ("similar_questions", "similar", "相似问题", "相似問題")


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


class KnowledgeBase:
    """FAQ entries with unique ids, in file order.

    >>> kb = KnowledgeBase([FaqEntry("1", "How do I reset my password?", "Use 'Forgot password'.")])
    >>> kb.by_id("1").answer
    "Use 'Forgot password'."
    """

    def __init__(self, entries: Sequence[FaqEntry], skipped_rows: int = 0) -> None:
        self.entries: list[FaqEntry] = list(entries)
        self.skipped_rows = skipped_rows
        self._by_id = {entry.id: entry for entry in self.entries}
        if not self.entries:
            raise ValueError("A KnowledgeBase needs at least one entry.")
        if len(self._by_id) != len(self.entries):
            raise ValueError("FaqEntry ids must be unique; load_faq reports duplicates by row.")

    def __len__(self) -> int:
        return len(self.entries)

    def by_id(self, entry_id: str) -> FaqEntry:
        """The entry with this id; raises ``InvalidInput`` if there is none."""
        try:
            return self._by_id[entry_id]
        except KeyError:
            raise InvalidInput(f"No FAQ entry has the id {entry_id!r}.") from None


def load_faq(
    source: str | Path | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, name: str | None = None
) -> KnowledgeBase:
    """Load an FAQ CSV: a question column is required; answer, id, category, similar optional.

    ``name``: how error messages name the file (an upload's file name), else :func:`describe`'s words.

    Rows without an id get ``row-N`` (N counts data rows from 1); rows with neither question nor
    answer are skipped and counted in ``skipped_rows``.

    >>> kb = load_faq("question,answer\\nHow do I reset my password?,Use 'Forgot password'.".encode())
    >>> kb.entries[0].id, len(kb)
    ('row-1', 1)
    """
    table = read_table(source, max_bytes=max_bytes, name=name)
    name = name or describe(source)
    question_column = require_column(table, name, "question", QUESTION_COLUMNS)
    answer_column = find_column(table, ANSWER_COLUMNS)
    id_column = find_column(table, ID_COLUMNS)
    category_column = find_column(table, CATEGORY_COLUMNS)
    similar_column = find_column(table, SIMILAR_COLUMNS)

    entries: list[FaqEntry] = []
    rows_by_id: dict[str, list[int]] = {}
    skipped = 0
    for row_number, row in enumerate(table.to_dict("records"), start=1):
        question = clean(row[question_column])
        answer = clean(row[answer_column]) if answer_column else ""
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
                similar_questions=split_pipes(row[similar_column]) if similar_column else (),
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
        raise InvalidInput.of("err_csv_no_entries", name=name)
    logger.info("Loaded %d FAQ entries (%s; %d empty rows skipped)", len(entries), name.lower(), skipped)
    return KnowledgeBase(entries, skipped_rows=skipped)


#: The columns :func:`faq_table` writes (and :func:`load_faq` reads back).
FAQ_COLUMNS = ("id", "question", "answer", "category", "similar_questions")
#: How the similar questions of an entry share one CSV cell.
PHRASING_SEPARATOR = " | "


def faq_table(entries: Sequence[FaqEntry]) -> pd.DataFrame:
    """The entries as rows of :data:`FAQ_COLUMNS` (similar questions joined by ``" | "``).

    >>> faq_table([FaqEntry("1", "Where is my order?", "Track it.", similar_questions=("Where's my parcel?", "Tracking?"))]).iloc[0].tolist()
    ['1', 'Where is my order?', 'Track it.', '', "Where's my parcel? | Tracking?"]
    """
    rows = [(e.id, e.question, e.answer, e.category, PHRASING_SEPARATOR.join(e.similar_questions)) for e in entries]
    return pd.DataFrame(rows, columns=list(FAQ_COLUMNS))


def bundled_bases() -> dict[str, Path]:
    """The FAQ files shipped in ``knowledge_base/``, by display name."""
    return {
        "中文电商 FAQ (zh_ecommerce_faq.csv)": BUNDLED_DIR / "zh_ecommerce_faq.csv",
        "English store FAQ (en_store_faq.csv)": BUNDLED_DIR / "en_store_faq.csv",
    }
