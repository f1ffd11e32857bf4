"""The desk: everything the UI does, as plain Python. Rank pasted answers or an FAQ base.

``Desk`` holds the scorer loaded at start-up (or, when the model could not be loaded, the
reason) and the FAQ bases; each call returns a :class:`DeskResult` with the ranked table, the
best answer, a confidence banner and a status line. No Gradio here: the UI only wires these
calls to widgets and turns :class:`~reranker.errors.RerankError` into messages.

>>> desk = Desk(scorer, export_dir=Path("/tmp/exports"))                      # doctest: +SKIP
>>> desk.rerank_pasted("Where is my order?", None, "Ships in 24h\\nReset password", "lines").best_answer  # doctest: +SKIP
'Ships in 24h'
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from reranker.candidates import ParsedCandidates, SplitMode, parse_candidates
from reranker.dense_slot import DenseSlot
from reranker.engine import EngineSlot, EngineStatus
from reranker.errors import InvalidInput, ModelUnavailable
from reranker.feedback import FeedbackStore
from reranker.i18n import Lang, t
from reranker.knowledge_base import DEFAULT_MAX_BYTES, DEFAULT_TOP_K, FaqEntry, KnowledgeBase, load_faq
from reranker.pipeline import FaqHit, check_top_k, first_stage
from reranker.results import ANSWER, ScoreKind, build_table, export_csv, render_table_html, score_column
from reranker.retrieval.first_stage import LABELS, FirstStage, Retrieval
from reranker.scorer import RankedDocument, Scorer

logger = logging.getLogger(__name__)

RankState = Literal["partial", "final"]
DEFAULT_THRESHOLD = 0.5
#: The table updates after each scored batch: FIRST_BATCH answers first (the first scores
#: arrive quickly), then the rest MAX_BATCH at a time. Every engine call costs a step of fixed
#: overhead, so one large call after the first keeps the final table within a few percent of one
#: request scoring them all (the earlier 2, 4, 8, 16 cost 10-39% more on a 2-core CPU).
FIRST_BATCH = 2
MAX_BATCH = 64
#: While the reranker loads, a waiting ranking re-reports this often (and can be stopped).
LOADING_POLL_S = 1.0
DEFAULT_MAX_CANDIDATES = 500
UPLOAD_CACHE_SIZE = 8
PREVIEW_ROWS = 3


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
    def best_score(self) -> float | None:
        if self.state != "final" or self.table.empty:
            return None
        return float(self.table.iloc[0][score_column(self.kind)])

    @property
    def best_answer(self) -> str:
        return "" if self.state != "final" or self.table.empty else str(self.table.iloc[0][ANSWER])

    @property
    def banner(self) -> Banner:
        if self.state == "partial":
            return Banner("info", t("ranking", self.lang, scored=self.scored, total=self.total))
        return assess(self.best_score, self.threshold, self.kind, self.lang)

    @property
    def table_html(self) -> str:
        return render_table_html(self.table, state=self.state, scored=self.scored, total=self.total,
                                 lang=self.lang)  # fmt: skip

    @property
    def checked(self) -> str:
        """The plain status line: how many answers were checked, and how long it took."""
        return t(
            "checked",
            self.lang,
            n=self.total,
            seconds=(self.timings.recall_s or 0) + (self.timings.rerank_s or 0),
        )

    def with_threshold(self, threshold: float) -> DeskResult:
        """The same ranking judged against another threshold (nothing is scored again)."""
        return replace(self, threshold=check_threshold(threshold))


@dataclass(frozen=True)
class SelectedBase:
    """The knowledge base a request searches, and how to name it to the agent."""

    kb: KnowledgeBase
    label: str

    def describe(self, lang: Lang = "en") -> str:
        skipped = t("rows_skipped", lang, n=self.kb.skipped_rows) if self.kb.skipped_rows else ""
        return t("base_rows", lang, label=self.label, n=len(self.kb), skipped=skipped)


@dataclass(frozen=True)
class UploadCheck:
    """What an upload gave: its first rows, and how many rows were read from how many lines."""

    name: str
    preview: list[FaqEntry]
    rows: int
    lines: int

    @property
    def suspicious(self) -> bool:
        """Fewer rows than lines: usually an unclosed quote joined lines (or multi-line answers)."""
        return self.rows < self.lines

    def describe(self, lang: Lang = "en") -> str:
        text = t("upload_rows", lang, name=self.name, rows=self.rows)
        if self.suspicious:
            text += " " + t("upload_mismatch", lang, lines=self.lines, rows=self.rows)
        return text


def assess(best_score: float | None, threshold: float, kind: ScoreKind, lang: Lang = "en") -> Banner:
    """Whether the best answer can be sent, or the question should go to a human agent."""
    if best_score is None:
        return Banner("warn", t("no_match", lang))
    if kind == "keyword":
        return Banner("info", t("keyword_only", lang))
    if kind == "first_stage":
        return Banner("info", t("first_stage_only", lang))
    if best_score < threshold:
        return Banner("warn", t("not_confident", lang, score=best_score, threshold=threshold))
    return Banner("ok", t("confident", lang, score=best_score, threshold=threshold))


def check_threshold(threshold: float) -> float:
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput.of("err_threshold", threshold=threshold)
    return float(threshold)


class Desk:
    """Ranks candidate answers with the shared scorer; keyword-only when there is none.

    ``scorer`` is loaded once at start-up and shared by every session; ``load_error`` is the
    reason it is missing. ``bases`` maps display names to the operator's FAQ CSV files, loaded
    on first use; ``max_upload_bytes`` limits only agents' uploads. CSV exports are written to
    ``export_dir``. ``feedback`` is the store of agents' picks (None: recording is off).
    """

    def __init__(
        self,
        scorer: Scorer | EngineSlot | None,
        load_error: str | None = None,
        *,
        export_dir: Path,
        bases: Mapping[str, Path] | None = None,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        max_upload_bytes: int = DEFAULT_MAX_BYTES,
        dense: DenseSlot | None = None,
        feedback: FeedbackStore | None = None,
    ) -> None:
        if isinstance(scorer, EngineSlot):
            self.engine = scorer
        elif scorer is not None:
            self.engine = EngineSlot.ready(scorer)
        elif load_error:
            self.engine = EngineSlot.unavailable(load_error)
        else:
            raise ValueError("Without a scorer, say why in load_error.")
        self.export_dir = export_dir
        self.base_paths = dict(bases or {})
        self.max_candidates = max_candidates
        self.max_upload_bytes = max_upload_bytes
        #: The first stage: keyword only unless a dense slot (embedder + base indexes) is given.
        self.dense = dense or DenseSlot.off(
            "keyword", "Keyword search (BM25): no embedding model is configured."
        )
        self.feedback = feedback
        self._bases: dict[str, KnowledgeBase] = {}
        self._uploads: OrderedDict[str, KnowledgeBase] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def scorer(self) -> Scorer | None:
        """The loaded scorer; None while it loads or when it cannot be loaded."""
        return self.engine.scorer

    @property
    def load_error(self) -> str | None:
        return self.engine.status().error

    @property
    def can_rerank(self) -> bool:
        return self.scorer is not None

    def engine_notice(self) -> tuple[str, str] | None:
        """(kind, text) of the banner about the engine: loading, fallback or unavailable."""
        return self.engine.status().notice()

    def first_stage_notice(self) -> tuple[str, str] | None:
        """(kind, text) of the banner about the first stage: embedder loading, embedding, unavailable."""
        return self.dense.notice()

    def select_base(self, name: str | None, upload: str | Path | None = None) -> SelectedBase:
        """The uploaded CSV when there is one, else the named base. Loads are cached."""
        if upload:
            path = Path(upload)
            return SelectedBase(self._load_upload(path), t("uploaded_label", name=path.name))
        if not name or name not in self.base_paths:
            known = ", ".join(self.base_paths) or "none"
            raise InvalidInput.of("err_no_base", known=known)
        with self._lock:
            if name not in self._bases:
                self._bases[name] = load_faq(self.base_paths[name])
                self.dense.add_base(self._bases[name])
            return SelectedBase(self._bases[name], name)

    def check_upload(self, upload: str | Path) -> UploadCheck:
        """Load an upload and compare the rows read with the file's lines (raises ``InvalidInput``)."""
        path = Path(upload)
        kb = self._load_upload(path)
        lines = sum(1 for line in path.read_bytes().splitlines() if line.strip()) - 1
        return UploadCheck(path.name, kb.entries[:PREVIEW_ROWS], len(kb) + kb.skipped_rows, lines)

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
                           threshold: float = DEFAULT_THRESHOLD, *,
                           lang: Lang = "en") -> Iterator[DeskResult]:  # fmt: skip
        """The pasted answers at once in paste order, then re-ranked as each batch is scored.

        ``lang``: the language of the banner, the table and the CSV headers.
        """
        query = _check_query(query)
        threshold = check_threshold(threshold)
        parsed = self.preview_pasted(text, mode)
        status = self.engine.status()
        if status.state == "unavailable":
            raise ModelUnavailable.of("err_pasted_unavailable", error=status.error)
        if not parsed.texts:
            raise InvalidInput.of("no_answers")
        ranking = _Ranking(parsed.texts, None, threshold, parsed.summary(), self.export_dir, lang=lang)
        yield from self._score(ranking, query, instruction)

    def rank_faq_stream(self, query: str, instruction: str | None, base: SelectedBase,
                        top_k: int = DEFAULT_TOP_K,
                        threshold: float = DEFAULT_THRESHOLD, *,
                        lang: Lang = "en") -> Iterator[DeskResult]:  # fmt: skip
        """The keyword matches at once, in keyword order, then re-ranked batch by batch (in ``lang``)."""
        query = _check_query(query)
        threshold = check_threshold(threshold)
        stage = self.dense.for_base(base.kb)
        hits, recall_s = first_stage(base.kb, query, check_top_k(top_k, self.max_candidates), stage.retrieval,
                                     stage.index)  # fmt: skip
        logger.info("FAQ search (%s): %d of %d rows recalled in %.0f ms", stage.retrieval, len(hits),
                    len(base.kb), recall_s * 1000)  # fmt: skip
        entries = [hit.entry for hit in hits]
        label = f"{stage.label[:1].upper()}{stage.label[1:]}" if lang == "en" else stage.label
        summary = f"{base.describe(lang)} {t('status_picked', lang, label=label, n=len(hits), k=top_k)}"
        ranking = _Ranking([e.text for e in entries], entries, threshold, summary, self.export_dir,
                           lang=lang, recall_s=recall_s, recall=_recall_note(stage, len(base.kb), len(hits), lang),
                           ranks=[(hit.keyword_rank, hit.dense_rank) for hit in hits],
                           first_stage=stage.retrieval)  # fmt: skip
        if not entries:
            yield ranking.keyword_final([], stage.retrieval)
            return
        yield from self._score(ranking, query, instruction, recall=(_recall_scores(hits), stage.retrieval))

    def _score(self, ranking: _Ranking, query: str, instruction: str | None,
               recall: tuple[list[float], Retrieval] | None = None) -> Iterator[DeskResult]:  # fmt: skip
        """Yield the unscored candidates, wait for a loading engine, then yield each batch."""
        status = self.engine.status()
        yield ranking.partial(_engine_wait_note(status, ranking.lang))
        while status.state == "loading":
            status = self.engine.wait(LOADING_POLL_S)
            if status.state == "loading":
                yield ranking.partial(_engine_wait_note(status, ranking.lang))
        if status.scorer is None:
            if recall is None:
                raise ModelUnavailable.of("err_unavailable", error=status.error)
            yield ranking.keyword_final(*recall)
            return
        scorer = status.scorer
        for scored in scorer.score_in_batches(query, ranking.texts, instruction,
                                              first_batch=FIRST_BATCH, max_batch=MAX_BATCH):  # fmt: skip
            ranking.add(scored.documents, scored.cache_hits, scored.elapsed_s)
            if ranking.done:
                break
            yield ranking.partial("")
        yield ranking.final(scorer)

    def _load_upload(self, path: Path) -> KnowledgeBase:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InvalidInput.of("err_upload_gone") from None
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            if digest in self._uploads:
                self._uploads.move_to_end(digest)
                return self._uploads[digest]
        kb = load_faq(data, max_bytes=self.max_upload_bytes)
        with self._lock:
            self._uploads[digest] = kb
            while len(self._uploads) > UPLOAD_CACHE_SIZE:
                self._uploads.popitem(last=False)
        return kb


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

    def add(self, documents: Sequence[RankedDocument], cache_hits: int, elapsed_s: float) -> None:
        for doc in documents:
            self.scores[doc.index], self.truncated[doc.index] = doc.score, doc.truncated
            if doc.chunks_scored > 1 and doc.evidence is not None:
                self.evidence[doc.index] = (*doc.evidence, doc.chunks_scored)
        self.cache_hits += cache_hits
        self.rerank_s += elapsed_s

    def _result(self, table: pd.DataFrame, kind: ScoreKind, status: str, state: RankState,
                timings: Timings) -> DeskResult:  # fmt: skip
        csv_path = export_csv(table, self.export_dir, lang=self.lang) if state == "final" else None
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

    def final(self, scorer: Scorer) -> DeskResult:
        scores = [float(score) for score in self.scores]  # type: ignore[arg-type] - all scored now
        table = build_table(self.texts, scores, entries=self.entries, truncated=self.truncated,
                            ranks=self.ranks, evidence=self.evidence)  # fmt: skip
        timings = Timings(self.recall_s, self.rerank_s)
        lang = self.lang
        parts = [scorer.backend_name + (f" ({scorer.backend.description})" if scorer.backend.description else ""),
                 scorer.model, t("status_pairs", lang, n=len(self.texts))]  # fmt: skip
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
                  else t("status_stage_scores", self.lang, stage=LABELS[retrieval]))  # fmt: skip
        status = t("status_recall_only", self.lang, scores=scores, recall=self.recall,
                   ms=_ms(self.recall_s or 0.0))  # fmt: skip
        return self._result(table, kind, status, "final", Timings(recall_s=self.recall_s))


def _recall_note(stage: FirstStage, rows: int, found: int, lang: Lang = "en") -> str:
    """The status line's words on the first stage: which one, over how many rows, and why."""
    return t("status_first_stage", lang, label=stage.label, rows=rows, found=found, reason=stage.reason)


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


def _check_query(query: str) -> str:
    if not query or not query.strip():
        raise InvalidInput.of("no_question")
    return query.strip()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
