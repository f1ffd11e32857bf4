"""Batch triage: answer a file of customer questions from an FAQ base, or send them to a human.

Each question goes through the desk's path (keyword search for candidates, then the reranker)
and gets the best FAQ entry, its score and a verdict: ``confident`` when the reranker's best
score reaches the threshold, else ``escalate``. A question that can't be answered (empty, or
refused by the scorer) gets an ``error`` and the batch goes on.

>>> from reranker.knowledge.bases import BUNDLED_DIR, load_faq
>>> kb = load_faq(BUNDLED_DIR / "en_store_faq.csv")
>>> [row] = answer_questions(kb, ["forgot my password"], scorer=None, threshold=0.5)
>>> row.faq_id, row.verdict
('en-061', 'escalate')
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from reranker.desk.pipeline import check_top_k, search_and_rank
from reranker.engine.scorer import Scorer
from reranker.errors import InvalidInput, RerankError
from reranker.i18n import Lang
from reranker.knowledge.bases import DEFAULT_TOP_K, KnowledgeBase
from reranker.knowledge.labelled import QUERY_COLUMNS
from reranker.knowledge.tabular import find_column, read_table
from reranker.retrieval.first_stage import KEYWORD_STAGE, FirstStage
from reranker.text import clean
from reranker.verdict import check_threshold, is_confident

logger = logging.getLogger(__name__)

Verdict = Literal["confident", "escalate"]


@dataclass(frozen=True)
class BatchRow:
    """One question's triage. ``row`` counts the questions from 1, in file order.

    ``score`` is the reranker's P("yes") for the best entry (the BM25 score without a reranker,
    when every verdict is ``escalate``: keyword scores say nothing about relevance). No entry
    (``faq_id`` None) means no FAQ shares a word with the question.
    """

    row: int
    question: str
    faq_id: str | None = None
    faq_question: str = ""
    answer: str = ""
    score: float | None = None
    verdict: Verdict = "escalate"
    error: str = ""
    #: The error as raised, to say it in the reader's language (:meth:`error_in`); not a column.
    problem: RerankError | None = field(default=None, compare=False, repr=False)

    @property
    def confident(self) -> bool:
        return self.verdict == "confident"

    @property
    def answered(self) -> bool:
        """The question got an FAQ entry (confident or not); False for an error or no match."""
        return self.faq_id is not None and not self.error

    def error_in(self, lang: Lang) -> str:
        """The row's error in ``lang`` ("" when it has none)."""
        return self.problem.message(lang) if self.problem is not None else self.error


#: The columns of the batch CSV, in order (what ``python -m reranker answer`` writes).
COLUMNS = ("row", "question", "faq_id", "faq_question", "answer", "score", "verdict", "error")


def read_questions(source: str | Path | bytes) -> list[str]:
    """Questions from a CSV: the ``question``/``query``/``问题`` column, or the only column.

    A file with a single column whose header is none of those has no header row: its first
    line is a question too.

    >>> read_questions("question,channel\\nwhere is my parcel,email".encode())
    ['where is my parcel']
    >>> read_questions("where is my parcel\\nrefund please".encode())
    ['where is my parcel', 'refund please']
    """
    table = read_table(source)
    column = find_column(table, QUERY_COLUMNS)
    if column is not None:
        return table[column].tolist()
    if len(table.columns) == 1:
        return [table.columns[0], *table.iloc[:, 0].tolist()]
    raise InvalidInput.of("err_batch_no_question_column", n=len(table.columns), names=", ".join(QUERY_COLUMNS))


def answer_questions(
    kb: KnowledgeBase,
    questions: Sequence[str],
    scorer: Scorer | None,
    top_k: int = DEFAULT_TOP_K,
    *,
    threshold: float,
    instruction: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    stage: FirstStage | None = None,
) -> Iterator[BatchRow]:
    """Triage each question in order, one row at a time (bad arguments raise at the call).

    ``stage``: the first stage that searches ``kb`` (the desk's, e.g. hybrid); keyword without one.

    ``progress(done, total)`` is called after each question; when ``should_stop()`` turns true
    the rows stop (those already yielded stand).
    """
    check_top_k(top_k)
    check_threshold(threshold)
    return _rows(kb, questions, scorer, top_k, threshold, instruction, progress, should_stop, stage)


def _rows(
    kb: KnowledgeBase,
    questions: Sequence[str],
    scorer: Scorer | None,
    top_k: int,
    threshold: float,
    instruction: str | None,
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
    stage: FirstStage | None,
) -> Iterator[BatchRow]:
    for number, question in enumerate(questions, start=1):
        if should_stop is not None and should_stop():
            logger.info("Batch stopped after %d of %d questions", number - 1, len(questions))
            return
        row = _triage(kb, number, clean(question), scorer, top_k, threshold, instruction, stage)
        if progress is not None:
            progress(number, len(questions))
        yield row


def rows_table(rows: Sequence[BatchRow]) -> pd.DataFrame:
    """The rows as a table with one column per field, for the CSV download."""
    records = [{column: getattr(row, column) for column in COLUMNS} for row in rows]
    return pd.DataFrame(records, columns=list(COLUMNS))


def _triage(
    kb: KnowledgeBase,
    number: int,
    question: str,
    scorer: Scorer | None,
    top_k: int,
    threshold: float,
    instruction: str | None,
    stage: FirstStage | None,
) -> BatchRow:
    stage = stage or KEYWORD_STAGE
    if not question:
        problem = InvalidInput.of("batch_empty_question")
        return BatchRow(number, question, error=str(problem), problem=problem)
    try:
        ranking = search_and_rank(kb, question, scorer, top_k, instruction, retrieval=stage.retrieval,
                                  index=stage.index)  # fmt: skip
    except RerankError as error:
        logger.warning("Question %d not answered: %s", number, error)
        return BatchRow(number, question, error=str(error), problem=error)
    best = ranking.best
    if best is None:
        return BatchRow(number, question)
    score = best.score if ranking.reranked else best.recall_score
    confident = ranking.reranked and is_confident(score, threshold)
    verdict: Verdict = "confident" if confident else "escalate"
    entry = best.entry
    return BatchRow(number, question, entry.id, entry.question, entry.answer, score, verdict)
