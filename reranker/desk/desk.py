"""The desk: everything the UI does, as plain Python. Rank pasted answers or an FAQ base.

``Desk`` holds what ranking needs: the engine slot (the scorer loading, loaded or unavailable),
the FAQ bases (:class:`~reranker.knowledge.registry.BaseRegistry`) and the first stage (dense
slot). Each call returns a :class:`DeskResult` with the ranked table, the best answer, a
confidence banner and a status line. FAQ rankings go through the same
:func:`~reranker.desk.pipeline.stream_search_and_rank` as the REST API. What an agent typed is
cleaned here (:func:`reranker.text.clean`), at the desk's edge. No Gradio here: the UI only
wires these calls to widgets and turns :class:`~reranker.errors.RerankError` into messages.

>>> desk = Desk(scorer, export_dir=Path("/tmp/exports"))                      # doctest: +SKIP
>>> desk.rerank_pasted("Where is my order?", None, "Ships in 24h\\nReset password", "lines").best_answer  # doctest: +SKIP
'Ships in 24h'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from reranker.desk.pipeline import FaqHit, FaqRanking, check_top_k, search_and_rank, stream_search_and_rank
from reranker.desk.results import ANSWER, ScoreKind, build_table, export_csv, render_table_html, score_column
from reranker.engine.scorer import RankedDocument, Scorer
from reranker.engine.slot import EngineSlot, EngineStatus
from reranker.errors import InvalidInput, ModelUnavailable
from reranker.i18n import Lang, t
from reranker.knowledge.bases import DEFAULT_MAX_BYTES, DEFAULT_TOP_K, FaqEntry, KnowledgeBase
from reranker.knowledge.candidates import ParsedCandidates, SplitMode, parse_candidates
from reranker.knowledge.registry import BaseRegistry, SelectedBase, UploadCheck
from reranker.retrieval.first_stage import FirstStage, Retrieval, stage_label
from reranker.retrieval.slot import DenseSlot
from reranker.text import clean, require_question
from reranker.verdict import DEFAULT_THRESHOLD, check_threshold, is_confident

logger = logging.getLogger(__name__)

#: partial: scores still coming; final: all scored; stopped: the agent stopped it, only scored rows kept.
RankState = Literal["partial", "final", "stopped"]
#: The table updates after each scored batch: FIRST_BATCH answers first (the first scores
#: arrive quickly), then the rest MAX_BATCH at a time. Every engine call costs a step of fixed
#: overhead, so one large call after the first keeps the final table within a few percent of one
#: request scoring them all (the earlier 2, 4, 8, 16 cost 10-39% more on a 2-core CPU).
FIRST_BATCH = 2
MAX_BATCH = 64
#: A ranking the engine is expected to finish within this many seconds is scored in one call: the
#: candidates are on screen at once anyway, and early scores would only add an engine step to the
#: wait for the final table (measured on an AMX Xeon: 1.24-1.29x one API call with a first batch).
QUICK_S = 2.0
#: While the reranker loads, a waiting ranking re-reports this often (and can be stopped).
LOADING_POLL_S = 1.0
DEFAULT_MAX_CANDIDATES = 500


def first_batch(scorer: Scorer | None, answers: int) -> int:
    """How many answers the first engine call scores: :data:`FIRST_BATCH`, so the first scores
    arrive early, unless the scorer is expected to score them all within :data:`QUICK_S`
    (then all, up to :data:`MAX_BATCH`, in one call).

    >>> first_batch(None, 20)
    2
    """
    if scorer is not None and scorer.expected_s(answers) <= QUICK_S:
        return MAX_BATCH
    return FIRST_BATCH


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Banner:
    """The message above the results: is there an answer the agent can send? (in ``lang``)"""

    kind: Literal["ok", "warn", "info"]
    text: str

    @property
    def confident(self) -> bool:
        return self.kind == "ok"


@dataclass(frozen=True)
class Timings:
    """Seconds spent in keyword recall (FAQ mode only) and in reranking (None: not run)."""

    recall_s: float | None = None
    rerank_s: float | None = None


@dataclass(frozen=True, eq=False)
class DeskResult:
    """One ranking, ready to show: table (best first), banner, status line and CSV export.

    While scores are still coming (``state == "partial"``), ``scored`` of ``total`` rows have
    one: those are on top in score order, the rest below in keyword (or paste) order. Only a
    final result has a best answer, a confidence verdict and a CSV.
    """

    table: pd.DataFrame
    kind: ScoreKind
    threshold: float
    summary: str
    status: str
    timings: Timings
    csv_path: Path | None
    state: RankState = "final"
    scored: int = 0
    total: int = 0
    lang: Lang = "en"
    #: The first stage that found the candidates (FAQ mode), recorded with an agent's pick.
    first_stage: Retrieval = "keyword"

    @property
    def done(self) -> bool:
        """No more scores will come: the ranking is final, or stopped (then ``best_*`` is the best scored)."""
        return self.state != "partial"

    @property
    def best_score(self) -> float | None:
        if not self.done or self.table.empty:
            return None
        return float(self.table.iloc[0][score_column(self.kind)])

    @property
    def best_answer(self) -> str:
        return "" if not self.done or self.table.empty else str(self.table.iloc[0][ANSWER])

    @property
    def banner(self) -> Banner:
        if self.state == "partial":
            return Banner("info", t("ranking", self.lang, scored=self.scored, total=self.total))
        verdict = assess(self.best_score, self.threshold, self.kind, self.lang)
        if self.state == "stopped":
            stopped = t("stopped_scored", self.lang, scored=self.scored, total=self.total)
            return Banner(verdict.kind, f"{stopped} {verdict.text}")
        return verdict

    @property
    def table_html(self) -> str:
        return render_table_html(self.table, state=self.state, scored=self.scored, total=self.total,
                                 lang=self.lang)  # fmt: skip

    @property
    def checked(self) -> str:
        """The plain status line: how many answers were checked, and how long it took."""
        if self.state == "stopped":
            return t("stopped_scored", self.lang, scored=self.scored, total=self.total)
        return t(
            "checked",
            self.lang,
            n=self.total,
            seconds=(self.timings.recall_s or 0) + (self.timings.rerank_s or 0),
        )


def assess(best_score: float | None, threshold: float, kind: ScoreKind, lang: Lang = "en") -> Banner:
    """Whether the best answer can be sent, or the question should go to a human agent."""
    if best_score is None:
        return Banner("warn", t("no_match", lang))
    if kind == "keyword":
        return Banner("info", t("keyword_only", lang))
    if kind == "first_stage":
        return Banner("info", t("first_stage_only", lang))
    if not is_confident(best_score, threshold):
        return Banner("warn", t("not_confident", lang, score=best_score, threshold=threshold))
    return Banner("ok", t("confident", lang, score=best_score, threshold=threshold))


class Desk:
    """Ranks candidate answers with the shared scorer; keyword-only when there is none.

    ``engine`` is the scorer (or the slot it loads into) shared by every session; without one,
    ``load_error`` says why. ``bases`` are the FAQ bases (a registry, or display name -> CSV,
    loaded on first use; ``max_upload_bytes`` limits only agents' uploads). CSV exports are
    written to ``export_dir``. ``dense``: the first stage (keyword only when None).
    """

    def __init__(
        self,
        engine: Scorer | EngineSlot | None,
        load_error: str | None = None,
        *,
        export_dir: Path,
        bases: BaseRegistry | Mapping[str, Path] | None = None,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        max_upload_bytes: int = DEFAULT_MAX_BYTES,
        dense: DenseSlot | None = None,
    ) -> None:
        if isinstance(engine, EngineSlot):
            self.engine = engine
        elif engine is not None:
            self.engine = EngineSlot.ready(engine)
        elif load_error:
            self.engine = EngineSlot.unavailable(load_error)
        else:
            raise ValueError("Without a scorer, say why in load_error.")
        self.export_dir = export_dir
        self.max_candidates = max_candidates
        #: The first stage: keyword only unless a dense slot (embedder + base indexes) is given.
        self.dense = dense or DenseSlot.off(
            "keyword", "Keyword search (BM25): no embedding model is configured."
        )
        if not isinstance(bases, BaseRegistry):
            bases = BaseRegistry(bases, max_upload_bytes=max_upload_bytes)
        self.bases = bases
        self.bases.add_listener(self.dense.add_base)

    @property
    def scorer(self) -> Scorer | None:
        """The loaded scorer; None while it loads or when it cannot be loaded."""
        return self.engine.scorer

    def engine_notice(self) -> tuple[str, str] | None:
        """(kind, text) of the banner about the engine: loading, fallback or unavailable."""
        return self.engine.status().notice()

    def first_stage_notice(self) -> tuple[str, str] | None:
        """(kind, text) of the banner about the first stage: embedder loading, embedding, unavailable."""
        return self.dense.notice()

    def select_base(self, name: str | None, upload: str | Path | None = None) -> SelectedBase:
        """The uploaded CSV when there is one, else the named base (see :meth:`BaseRegistry.select`)."""
        return self.bases.select(name, upload)

    def check_upload(self, upload: str | Path) -> UploadCheck:
        """Load an upload and compare the rows read with the file's lines (raises ``InvalidInput``)."""
        return self.bases.check_upload(upload)

    def search(self, kb: KnowledgeBase, query: str, top_k: int = DEFAULT_TOP_K,
               instruction: str | None = None) -> tuple[FaqRanking, FirstStage]:  # fmt: skip
        """One base searched and reranked at once (the REST API's FAQ search), and the first stage used.

        The question is scored as sent: the API does not clean it.
        """
        stage = self.dense.for_base(kb)
        ranking = search_and_rank(kb, query, self.scorer, check_top_k(top_k, self.max_candidates), instruction,
                                  retrieval=stage.retrieval, index=stage.index)  # fmt: skip
        return ranking, stage

    def preview_pasted(self, text: str, mode: SplitMode) -> ParsedCandidates:
        """How the pasted text splits into candidates (for the live count under the box)."""
        return parse_candidates(text or "", mode, self.max_candidates)

    def rerank_pasted(self, query: str, instruction: str | None, text: str, mode: SplitMode,
                      threshold: float = DEFAULT_THRESHOLD) -> DeskResult:  # fmt: skip
        """Score pasted answers against ``query`` and rank them (the final result)."""
        return _last(self.rank_pasted_stream(query, instruction, text, mode, threshold))

    def rerank_faq(self, query: str, instruction: str | None, base: SelectedBase,
                   top_k: int = DEFAULT_TOP_K, threshold: float = DEFAULT_THRESHOLD) -> DeskResult:  # fmt: skip
        """Keyword-search the whole base, rerank the ``top_k`` best matches (the final result).

        Without a scorer the keyword matches are returned as they are, with keyword scores.
        """
        return _last(self.rank_faq_stream(query, instruction, base, top_k, threshold))

    def rank_pasted_stream(self, query: str, instruction: str | None, text: str, mode: SplitMode,
                           threshold: float = DEFAULT_THRESHOLD, *, lang: Lang = "en",
                           should_stop: Callable[[], bool] = _never) -> Iterator[DeskResult]:  # fmt: skip
        """The pasted answers at once in paste order, then re-ranked as each batch is scored.

        ``lang``: the language of the banner, the table and the CSV headers. When ``should_stop()``
        turns true (checked between batches), the last result is the ``stopped`` one: the rows
        scored so far, best first.
        """
        query = clean(require_question(query))
        threshold = check_threshold(threshold)
        parsed = self.preview_pasted(text, mode)
        status = self.engine.status()
        if status.state == "unavailable":
            raise ModelUnavailable.of("err_pasted_unavailable", error=status.error)
        if not parsed.texts:
            raise InvalidInput.of("no_answers")
        ranking = _Ranking(parsed.texts, None, threshold, parsed.summary(), self.export_dir, lang=lang)
        yield from self._while_loading(ranking, should_stop)
        if should_stop():
            yield ranking.stopped()
            return
        scorer = self.scorer
        if scorer is None:
            raise ModelUnavailable.of("err_unavailable", error=self.engine.status().error)
        batches = scorer.score_in_batches(query, ranking.texts, _clean_instruction(instruction),
                                          first_batch=first_batch(scorer, len(ranking.texts)),
                                          max_batch=MAX_BATCH)  # fmt: skip
        for scored in batches:
            ranking.add(scored.documents, scored.cache_hits, scored.elapsed_s)
            if ranking.done:
                break
            if should_stop():
                batches.close()
                yield ranking.stopped()
                return
            yield ranking.partial("")
        yield ranking.final(scorer)

    def rank_faq_stream(self, query: str, instruction: str | None, base: SelectedBase,
                        top_k: int = DEFAULT_TOP_K,
                        threshold: float = DEFAULT_THRESHOLD, *, lang: Lang = "en",
                        should_stop: Callable[[], bool] = _never) -> Iterator[DeskResult]:  # fmt: skip
        """The first stage's matches at once, in its order, then re-ranked batch by batch (in ``lang``).

        The same :func:`~reranker.desk.pipeline.stream_search_and_rank` as the REST API; while the
        engine loads, the matches are re-reported. ``should_stop`` as in :meth:`rank_pasted_stream`.
        """
        query = clean(require_question(query))
        threshold = check_threshold(threshold)
        stage = self.dense.for_base(base.kb)
        top_k = check_top_k(top_k, self.max_candidates)
        steps = stream_search_and_rank(base.kb, query, lambda: self.scorer, top_k, _clean_instruction(instruction),
                                       retrieval=stage.retrieval, index=stage.index,
                                       first_batch=first_batch(self.scorer, top_k), max_batch=MAX_BATCH)  # fmt: skip
        recalled = next(steps)
        logger.info("FAQ search (%s): %d of %d rows recalled in %.0f ms", stage.retrieval, len(recalled.hits),
                    len(base.kb), recalled.recall_s * 1000)  # fmt: skip
        label = stage_label(stage.retrieval, lang)
        label = f"{label[:1].upper()}{label[1:]}"
        summary = f"{base.describe(lang)} {t('status_picked', lang, label=label, n=len(recalled.hits), k=top_k)}"
        ranking = _Ranking([hit.entry.text for hit in recalled.hits], [hit.entry for hit in recalled.hits],
                           threshold, summary, self.export_dir, lang=lang, recall_s=recalled.recall_s,
                           recall=_recall_note(stage, len(base.kb), len(recalled.hits), lang),
                           ranks=[(hit.keyword_rank, hit.dense_rank) for hit in recalled.hits],
                           first_stage=stage.retrieval)  # fmt: skip
        if not recalled.final:
            yield from self._while_loading(ranking, should_stop)
        for step in [recalled] if recalled.final else steps:
            if should_stop() and not step.final:
                ranking.update(step)
                steps.close()
                yield ranking.stopped()
                return
            if not step.final:
                ranking.update(step)
                yield ranking.partial("")
            elif step.reranked and (scorer := self.scorer) is not None:
                ranking.update(step)
                yield ranking.final(scorer)
            else:
                yield ranking.keyword_final(_recall_scores(step.hits), stage.retrieval)

    def _while_loading(
        self, ranking: _Ranking, should_stop: Callable[[], bool] = _never
    ) -> Iterator[DeskResult]:
        """The unscored candidates at once, then again every :data:`LOADING_POLL_S` while the engine
        loads (until it is ready, or ``should_stop()``)."""
        status = self.engine.status()
        yield ranking.partial(_engine_wait_note(status, ranking.lang))
        while status.state == "loading" and not should_stop():
            status = self.engine.wait(LOADING_POLL_S)
            if status.state == "loading":
                yield ranking.partial(_engine_wait_note(status, ranking.lang))


class _Ranking:
    """The scores of one ranking as they arrive, and the :class:`DeskResult` for each step."""

    def __init__(self, texts: list[str], entries: Sequence[FaqEntry] | None, threshold: float,
                 summary: str, export_dir: Path, *, recall_s: float | None = None,
                 recall: str = "", ranks: Sequence[tuple[int | None, int | None]] | None = None,
                 first_stage: Retrieval = "keyword", lang: Lang = "en") -> None:  # fmt: skip
        self.texts, self.entries, self.threshold, self.ranks = texts, entries, threshold, ranks
        self.first_stage, self.lang = first_stage, lang
        self.summary, self.export_dir, self.recall_s, self.recall = summary, export_dir, recall_s, recall
        self.scores: list[float | None] = [None] * len(texts)
        self.truncated = [False] * len(texts)
        #: (start, end, windows) of each long answer's best window; None for one-window answers.
        self.evidence: list[tuple[int, int, int] | None] = [None] * len(texts)
        self.cache_hits = 0
        self.rerank_s = 0.0

    @property
    def scored(self) -> int:
        return sum(score is not None for score in self.scores)

    @property
    def done(self) -> bool:
        return self.scored == len(self.texts)

    def update(self, step: FaqRanking) -> None:
        """Take the scores of a pipeline step (its hits are this ranking's entries, in another order)."""
        position = {entry.id: i for i, entry in enumerate(self.entries or ())}
        for hit in step.hits:
            if hit.score is not None:
                i = position[hit.entry.id]
                self.scores[i], self.truncated[i] = hit.score, hit.truncated
                if hit.chunks_scored > 1 and hit.evidence is not None:
                    self.evidence[i] = (*hit.evidence, hit.chunks_scored)
        self.cache_hits, self.rerank_s = step.cache_hits, step.rerank_s

    def add(self, documents: Sequence[RankedDocument], cache_hits: int, elapsed_s: float) -> None:
        for doc in documents:
            self.scores[doc.index], self.truncated[doc.index] = doc.score, doc.truncated
            if doc.chunks_scored > 1 and doc.evidence is not None:
                self.evidence[doc.index] = (*doc.evidence, doc.chunks_scored)
        self.cache_hits += cache_hits
        self.rerank_s += elapsed_s

    def _result(self, table: pd.DataFrame, kind: ScoreKind, status: str, state: RankState,
                timings: Timings) -> DeskResult:  # fmt: skip
        csv_path = export_csv(table, self.export_dir, lang=self.lang) if state != "partial" else None
        return DeskResult(table=table, kind=kind, threshold=self.threshold, summary=self.summary,
                          status=status, timings=timings, csv_path=csv_path, state=state,
                          scored=self.scored, total=len(self.texts), first_stage=self.first_stage,
                          lang=self.lang)  # fmt: skip

    def partial(self, note: str) -> DeskResult:
        table = build_table(self.texts, self.scores, entries=self.entries, truncated=self.truncated,
                            ranks=self.ranks, evidence=self.evidence)  # fmt: skip
        status = t("status_not_reranked", self.lang, scored=self.scored, total=len(self.texts))
        status += f" · {note}" if note else ""
        return self._result(table, "reranker", status, "partial", Timings(self.recall_s, self.rerank_s))

    def stopped(self) -> DeskResult:
        """The rows scored so far, best first (the unscored ones are left out), and their CSV."""
        kept = [i for i, score in enumerate(self.scores) if score is not None]
        entries = None if self.entries is None else [self.entries[i] for i in kept]
        ranks = None if self.ranks is None else [self.ranks[i] for i in kept]
        table = build_table([self.texts[i] for i in kept], [self.scores[i] for i in kept], entries=entries,
                            truncated=[self.truncated[i] for i in kept], ranks=ranks)  # fmt: skip
        status = t("status_stopped", self.lang, scored=self.scored, total=len(self.texts), ms=_ms(self.rerank_s))
        logger.info("Ranking stopped with %d of %d candidates scored", self.scored, len(self.texts))
        return self._result(table, "reranker", status, "stopped", Timings(self.recall_s, self.rerank_s))

    def final(self, scorer: Scorer) -> DeskResult:
        scores = [float(score) for score in self.scores]  # type: ignore[arg-type] - all scored now
        table = build_table(self.texts, scores, entries=self.entries, truncated=self.truncated,
                            ranks=self.ranks, evidence=self.evidence)  # fmt: skip
        timings = Timings(self.recall_s, self.rerank_s)
        lang = self.lang
        engine = scorer.backend.describe(lang)
        parts = [scorer.backend_name + (f" ({engine})" if engine else ""), scorer.model,
                 t("status_pairs", lang, n=len(self.texts))]  # fmt: skip
        if self.recall_s is not None:
            parts.append(t("status_recall", lang, ms=_ms(self.recall_s)))
        parts += [t("status_rerank", lang, ms=_ms(self.rerank_s)), t("status_truncated", lang, n=sum(self.truncated)),
                  t("status_cache_hits", lang, n=self.cache_hits)]  # fmt: skip
        if self.recall:
            parts.append(self.recall)
        logger.info("Ranked %d candidates in %.0f ms", len(self.texts), self.rerank_s * 1000)
        return self._result(table, "reranker", " · ".join(parts), "final", timings)

    def keyword_final(self, recall_scores: list[float], retrieval: Retrieval = "keyword") -> DeskResult:
        """The first stage's order as the final ranking (no reranker): BM25, or search scores."""
        kind: ScoreKind = "keyword" if retrieval == "keyword" else "first_stage"
        table = build_table(self.texts, recall_scores, entries=self.entries, kind=kind, ranks=self.ranks)
        scores = (t("status_keyword_scores", self.lang) if kind == "keyword"
                  else t("status_stage_scores", self.lang, stage=stage_label(retrieval, self.lang)))  # fmt: skip
        status = t("status_recall_only", self.lang, scores=scores, recall=self.recall,
                   ms=_ms(self.recall_s or 0.0))  # fmt: skip
        return self._result(table, kind, status, "final", Timings(recall_s=self.recall_s))


def _recall_note(stage: FirstStage, rows: int, found: int, lang: Lang = "en") -> str:
    """The status line's words on the first stage: which one, over how many rows, and why."""
    return t("status_first_stage", lang, label=stage_label(stage.retrieval, lang), rows=rows, found=found,
             reason=stage.reason_in(lang))  # fmt: skip


def _recall_scores(hits: Sequence[FaqHit]) -> list[float]:
    return [hit.recall_score for hit in hits]


def _engine_wait_note(status: EngineStatus, lang: Lang = "en") -> str:
    if status.state == "loading":
        return t("status_waiting", lang, seconds=f"{status.loading_seconds():.0f}")
    return ""


def _last(results: Iterator[DeskResult]) -> DeskResult:
    result = None
    for result in results:  # noqa: B007 - the last one is the final ranking
        pass
    assert result is not None and result.state == "final"
    return result


def _clean_instruction(instruction: str | None) -> str | None:
    """The instruction an agent typed, cleaned; None (the model card's default) when blank."""
    return clean(instruction) or None if instruction else None


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
