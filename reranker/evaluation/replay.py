"""What learning from agents' picks is worth: replay picks, then measure on the questions after them.

The simplest form of learning: when an agent picks entry E for a customer's question, the question
becomes a phrasing ("similar question") of E, which the first stage indexes. The replay takes a
labelled query set in file order, treats the first ``share`` of it as picks (the chosen entry is
each query's first relevant id; out-of-scope queries teach nothing), learns their phrasings, and
evaluates the rest before and after, for each first stage asked for. Only held-out questions are
measured, so a learned phrasing never answers its own question.

>>> from reranker.knowledge.bases import BUNDLED_DIR
>>> from reranker.evaluation.evaluate import load_evaluation_set
>>> kb, queries = load_evaluation_set(BUNDLED_DIR / "en_store_faq.csv", BUNDLED_DIR / "en_store_queries.csv")
>>> [result] = replay_picks(kb, queries, share=0.5)
>>> result.retrieval, result.learned, result.evaluated, result.covered
('keyword', 28, 29, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from reranker.errors import InvalidInput
from reranker.evaluation.evaluate import EvaluationReport, evaluate
from reranker.knowledge.bases import KnowledgeBase
from reranker.knowledge.labelled import LabelledQuery
from reranker.retrieval.dense import DenseIndex
from reranker.retrieval.first_stage import Retrieval
from reranker.text import clean

#: The metrics a replay reports, before and after.
REPLAY_METRICS: tuple[str, ...] = ("mrr@10", "recall@1", "recall@5", "recall@20")


@dataclass(frozen=True)
class ReplayResult:
    """One first stage's metrics on the held-out questions, before and after learning the picks."""

    retrieval: Retrieval
    learned: int
    evaluated: int
    #: Held-out questions whose right entry gained a phrasing: only these can be helped.
    covered: int
    before: EvaluationReport
    after: EvaluationReport

    def row(self) -> dict[str, object]:
        """Plain JSON-ready data: ``{"retrieval", "learned", "evaluated", "before": {...}, "after": {...}}``."""
        before, after = self.before.metrics(), self.after.metrics()
        return {"retrieval": self.retrieval, "learned": self.learned, "evaluated": self.evaluated,
                "covered": self.covered,
                "before": {name: before[name] for name in REPLAY_METRICS},
                "after": {name: after[name] for name in REPLAY_METRICS}}  # fmt: skip


def split_picks(queries: Sequence[LabelledQuery], share: float) -> tuple[list[LabelledQuery], list[LabelledQuery]]:
    """The first ``share`` of the queries (the picks) and the rest (held out), in file order."""
    if not 0.0 < share < 1.0:
        raise InvalidInput(f"--replay-picks is the share of queries replayed as picks, between 0 and 1; got {share}.")
    cut = int(len(queries) * share)
    if cut == 0 or cut == len(queries):
        raise InvalidInput(f"{len(queries)} queries cannot be split {share:.0%} / {1 - share:.0%}: use a larger set.")
    return list(queries[:cut]), list(queries[cut:])


def learn_phrasings(kb: KnowledgeBase, picks: Sequence[LabelledQuery]) -> tuple[KnowledgeBase, int]:
    """The base with each pick's question added as a phrasing of the chosen entry, and how many were new.

    A question already among the entry's question and phrasings (ignoring case and spacing) is
    not added twice. "None of these" picks (no relevant id) teach nothing.
    """
    learned: dict[str, list[str]] = {}
    added = 0
    for pick in picks:
        if not pick.relevant_ids:
            continue
        entry = kb.by_id(pick.relevant_ids[0])
        phrasing = clean(pick.query)
        known = {_key(text) for text in (entry.question, *entry.similar_questions, *learned.get(entry.id, []))}
        if phrasing and _key(phrasing) not in known:
            learned.setdefault(entry.id, []).append(phrasing)
            added += 1
    entries = [replace(e, similar_questions=(*e.similar_questions, *learned.get(e.id, ()))) for e in kb.entries]
    return KnowledgeBase(entries, skipped_rows=kb.skipped_rows), added


def replay_picks(kb: KnowledgeBase, queries: Sequence[LabelledQuery], share: float = 0.5,
                 retrievals: Sequence[Retrieval] = ("keyword",), top_k: int = 20,
                 index_for: Callable[[KnowledgeBase], DenseIndex] | None = None) -> list[ReplayResult]:  # fmt: skip
    """Learn the first ``share`` of ``queries`` as picks; evaluate the rest before and after, per first stage.

    ``index_for(kb)`` builds a base's dense index, needed by dense and hybrid (an embedding cache
    makes the second base cost only its new phrasings).
    """
    picks, held_out = split_picks(queries, share)
    return replay(kb, picks, held_out, retrievals, top_k, index_for)


def replay(kb: KnowledgeBase, picks: Sequence[LabelledQuery], held_out: Sequence[LabelledQuery],
           retrievals: Sequence[Retrieval] = ("keyword",), top_k: int = 20,
           index_for: Callable[[KnowledgeBase], DenseIndex] | None = None) -> list[ReplayResult]:  # fmt: skip
    """Learn ``picks``; evaluate ``held_out`` before and after (e.g. last month's picks, this month's questions)."""
    learned_kb, learned = learn_phrasings(kb, picks)
    taught = {entry.id for entry, old in zip(learned_kb.entries, kb.entries) if entry != old}
    covered = sum(bool(taught & set(query.relevant_ids)) for query in held_out)
    results = []
    for retrieval in retrievals:
        if retrieval != "keyword" and index_for is None:
            raise InvalidInput(f"Replaying {retrieval} search needs an embedding model.")
        indexes = (None, None) if retrieval == "keyword" else (index_for(kb), index_for(learned_kb))  # type: ignore[misc]
        before = evaluate(kb, held_out, scorer=None, top_k=top_k, retrieval=retrieval, index=indexes[0])
        after = evaluate(learned_kb, held_out, scorer=None, top_k=top_k, retrieval=retrieval, index=indexes[1])
        results.append(ReplayResult(retrieval, learned, len(held_out), covered, before, after))
    return results


def format_replay(results: Sequence[ReplayResult], title: str) -> str:
    """The replay as a plain table: each first stage's metrics before -> after."""
    lines = [title]
    if results:
        first = results[0]
        lines.append(f"{first.learned} phrasings learned from the picks; {first.evaluated} held-out queries, "
                     f"{first.covered} of them about an entry that learned a phrasing")  # fmt: skip
    lines.append(f"{'first stage':<12} " + "  ".join(f"{name:>16}" for name in REPLAY_METRICS))
    for result in results:
        before, after = result.before.metrics(), result.after.metrics()
        cells = [f"{_number(before[name])} → {_number(after[name])}" for name in REPLAY_METRICS]
        lines.append(f"{result.retrieval:<12} " + "  ".join(f"{cell:>16}" for cell in cells))
    return "\n".join(lines)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _number(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
