"""Labelled query sets for the evaluation: test questions and the FAQ ids that answer them.

>>> load_queries("query,relevant_ids\\nwhere is my parcel,en-004|en-005".encode())
[LabelledQuery(query='where is my parcel', relevant_ids=('en-004', 'en-005'))]
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path

from reranker.errors import InvalidInput
from reranker.knowledge.bases import BUNDLED_DIR
from reranker.knowledge.tabular import DEFAULT_MAX_BYTES, describe, read_table, require_column, split_pipes

# Accepted header names, compared ignoring case, spaces, "_" and "-".
QUERY_COLUMNS = ("query", "question", "问题", "查询")
RELEVANT_COLUMNS = ("relevant_ids", "relevant", "ids", "答案编号", "相关编号")
#: Unknown ids listed by name in the error message; the rest are counted.
LISTED_UNKNOWN_IDS = 5


@dataclass(frozen=True)
class LabelledQuery:
    """A test query and the ids of the FAQ entries that answer it (empty: out of scope)."""

    query: str
    relevant_ids: tuple[str, ...]


def load_queries(
    source: str | Path | bytes,
    *,
    known_ids: Set[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[LabelledQuery]:
    """Load labelled queries: ``query`` and ``relevant_ids`` (``|``-separated, empty = out of scope).

    With ``known_ids``, every relevant id must be one of them.
    """
    table = read_table(source, max_bytes=max_bytes)
    name = describe(source)
    query_column = require_column(table, name, "query", QUERY_COLUMNS)
    relevant_column = require_column(table, name, "relevant ids", RELEVANT_COLUMNS)
    queries = [
        LabelledQuery(row[query_column].strip(), split_pipes(row[relevant_column]))
        for row in table.to_dict("records")
        if row[query_column].strip()
    ]
    if known_ids is not None:
        unknown = list(dict.fromkeys(i for q in queries for i in q.relevant_ids if i not in known_ids))
        if unknown:
            more = len(unknown) - LISTED_UNKNOWN_IDS
            listed = ", ".join(unknown[:LISTED_UNKNOWN_IDS]) + (f" and {more} more" if more > 0 else "")
            raise InvalidInput(
                f"{name} refers to {len(unknown)} id(s) that are not in the knowledge base: "
                f"{listed}. Check that the queries file belongs to this FAQ file."
            )
    return queries


def bundled_query_sets() -> dict[str, Path]:
    """The labelled query sets shipped in ``knowledge_base/``, by display name."""
    return {
        "中文电商测试问题 (zh_ecommerce_queries.csv)": BUNDLED_DIR / "zh_ecommerce_queries.csv",
        "English store test queries (en_store_queries.csv)": BUNDLED_DIR / "en_store_queries.csv",
    }
