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
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from reranker.candidates import ParsedCandidates, SplitMode, parse_candidates
from reranker.errors import InvalidInput, ModelUnavailable
from reranker.knowledge_base import DEFAULT_MAX_BYTES, DEFAULT_TOP_K, KnowledgeBase, load_faq
from reranker.results import ANSWER, ScoreKind, build_table, export_csv, render_table_html, score_column
from reranker.scorer import Scorer

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], object]
DEFAULT_THRESHOLD = 0.5
DEFAULT_MAX_CANDIDATES = 500
UPLOAD_CACHE_SIZE = 8


@dataclass(frozen=True)
class Banner:
    """The message above the results: is there an answer the agent can send?"""

    kind: Literal["ok", "warn", "info"]
    text: str


@dataclass(frozen=True)
class Timings:
    """Seconds spent in keyword recall (FAQ mode only) and in reranking (None: not run)."""

    recall_s: float | None = None
    rerank_s: float | None = None


@dataclass(frozen=True, eq=False)
class DeskResult:
    """One ranking, ready to show: table (best first), banner, status line and CSV export."""

    table: pd.DataFrame
    kind: ScoreKind
    threshold: float
    summary: str
    status: str
    timings: Timings
    csv_path: Path

    @property
    def best_score(self) -> float | None:
        return None if self.table.empty else float(self.table.iloc[0][score_column(self.kind)])

    @property
    def best_answer(self) -> str:
        return "" if self.table.empty else str(self.table.iloc[0][ANSWER])

    @property
    def banner(self) -> Banner:
        return assess(self.best_score, self.threshold, self.kind)

    @property
    def table_html(self) -> str:
        return render_table_html(self.table)

    def with_threshold(self, threshold: float) -> DeskResult:
        """The same ranking judged against another threshold (nothing is scored again)."""
        return replace(self, threshold=check_threshold(threshold))


@dataclass(frozen=True)
class SelectedBase:
    """The knowledge base a request searches, and how to name it to the agent."""

    kb: KnowledgeBase
    label: str

    def describe(self) -> str:
        skipped = f" ({self.kb.skipped_rows} empty rows skipped)" if self.kb.skipped_rows else ""
        return f"{self.label}: {len(self.kb)} FAQ rows{skipped}."


def assess(best_score: float | None, threshold: float, kind: ScoreKind) -> Banner:
    """Whether the best answer can be sent, or the question should go to a human agent."""
    if best_score is None:
        return Banner("warn", "No FAQ entry matches this question. Hand it to a human agent.")
    if kind == "keyword":
        return Banner(
            "info",
            "Keyword scores (BM25) only: the reranker is unavailable, so these answers are "
            "ordered by shared words, not judged for relevance, and there is no confidence "
            "score. Read the best match before sending it.",
        )
    if best_score < threshold:
        return Banner(
            "warn",
            f"No confident answer: the best score is {best_score:.3f}, below the "
            f"{threshold:.2f} threshold. Hand this question to a human agent.",
        )
    return Banner("ok", f"Confident answer: the best score is {best_score:.3f} (threshold {threshold:.2f}).")


def check_threshold(threshold: float) -> float:
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput(f"The threshold must be between 0 and 1, got {threshold}.")
    return float(threshold)


class Desk:
    """Ranks candidate answers with the shared scorer; keyword-only when there is none.

    ``scorer`` is loaded once at start-up and shared by every session; ``load_error`` is the
    reason it is missing. ``bases`` maps display names to the operator's FAQ CSV files, loaded
    on first use; ``max_upload_bytes`` limits only agents' uploads. CSV exports are written to
    ``export_dir``.
    """

    def __init__(
        self,
        scorer: Scorer | None,
        load_error: str | None = None,
        *,
        export_dir: Path,
        bases: Mapping[str, Path] | None = None,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        max_upload_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if scorer is None and not load_error:
            raise ValueError("Without a scorer, say why in load_error.")
        self.scorer = scorer
        self.load_error = None if scorer is not None else load_error
        self.export_dir = export_dir
        self.base_paths = dict(bases or {})
        self.max_candidates = max_candidates
        self.max_upload_bytes = max_upload_bytes
        self._bases: dict[str, KnowledgeBase] = {}
        self._uploads: OrderedDict[str, KnowledgeBase] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def can_rerank(self) -> bool:
        return self.scorer is not None

    def unavailable_message(self) -> str:
        """The start-up banner in degraded mode (empty when the reranker is loaded)."""
        if self.scorer is not None:
            return ""
        return (
            f"The reranker model is not loaded: {self.load_error} Until it is, the FAQ base tab "
            "ranks by keyword (BM25) scores only, and pasted answers cannot be ranked."
        )

    def select_base(self, name: str | None, upload: str | Path | None = None) -> SelectedBase:
        """The uploaded CSV when there is one, else the named base. Loads are cached."""
        if upload:
            path = Path(upload)
            return SelectedBase(self._load_upload(path), f"{path.name} (uploaded)")
        if not name or name not in self.base_paths:
            known = ", ".join(self.base_paths) or "none"
            raise InvalidInput(f"Pick an FAQ base (available: {known}) or upload a CSV file.")
        with self._lock:
            if name not in self._bases:
                self._bases[name] = load_faq(self.base_paths[name])
            return SelectedBase(self._bases[name], name)

    def preview_pasted(self, text: str, mode: SplitMode) -> ParsedCandidates:
        """How the pasted text splits into candidates (for the live count under the box)."""
        return parse_candidates(text or "", mode, self.max_candidates)

    def rerank_pasted(
        self,
        query: str,
        instruction: str | None,
        text: str,
        mode: SplitMode,
        threshold: float = DEFAULT_THRESHOLD,
        progress: Progress | None = None,
    ) -> DeskResult:
        """Score pasted answers against ``query`` and rank them."""
        query = _check_query(query)
        threshold = check_threshold(threshold)
        if self.scorer is None:
            raise ModelUnavailable(
                f"Reranking is unavailable, so pasted answers cannot be ranked: {self.load_error} "
                "Use the FAQ base tab for keyword search, or restart the app with a working --model."
            )
        parsed = self.preview_pasted(text, mode)
        if not parsed.texts:
            raise InvalidInput(
                "Paste at least one candidate answer (one per line, or separated by blank lines)."
            )
        if progress:
            progress(0.05, f"Scoring {len(parsed.texts)} candidates")
        scored = self.scorer.score_detailed(query, parsed.texts, instruction)
        table = build_table(parsed.texts, scored.scores, truncated=[d.truncated for d in scored.documents])
        timings = Timings(rerank_s=scored.elapsed_s)
        logger.info("Ranked %d pasted candidates in %.0f ms", len(parsed.texts), scored.elapsed_s * 1000)
        return DeskResult(
            table=table,
            kind="reranker",
            threshold=threshold,
            summary=parsed.summary(),
            status=_reranker_status(
                self.scorer, len(parsed.texts), timings, len(scored.truncated), scored.cache_hits
            ),
            timings=timings,
            csv_path=export_csv(table, self.export_dir),
        )

    def rerank_faq(
        self,
        query: str,
        instruction: str | None,
        base: SelectedBase,
        top_k: int = DEFAULT_TOP_K,
        threshold: float = DEFAULT_THRESHOLD,
        progress: Progress | None = None,
    ) -> DeskResult:
        """Keyword-search the whole base, then rerank the ``top_k`` best matches.

        Without a scorer the keyword matches are returned as they are, with keyword scores.
        """
        query = _check_query(query)
        threshold = check_threshold(threshold)
        if not 1 <= top_k <= self.max_candidates:
            raise InvalidInput(f"Top K must be between 1 and {self.max_candidates}, got {top_k}.")
        if progress:
            progress(0.0, f"Searching {len(base.kb)} FAQ rows")
        started = time.perf_counter()
        hits = base.kb.search(query, top_k=int(top_k))
        recall_s = time.perf_counter() - started
        entries = [hit.entry for hit in hits]
        texts = [entry.text for entry in entries]
        recall = f"keyword search over {len(base.kb)} FAQ rows found {len(hits)} candidates"

        if self.scorer is None:
            timings = Timings(recall_s=recall_s)
            table = build_table(texts, [hit.score for hit in hits], entries=entries, kind="keyword")
            status = f"Reranker unavailable: keyword (BM25) scores only · {recall} · recall {_ms(recall_s)}"
            kind: ScoreKind = "keyword"
        else:
            if progress:
                progress(0.3, f"Reranking {len(texts)} candidates")
            if texts:
                scored = self.scorer.score_detailed(query, texts, instruction)
                scores, truncated = scored.scores, [d.truncated for d in scored.documents]
                cut, hits_in_cache, rerank_s = len(scored.truncated), scored.cache_hits, scored.elapsed_s
            else:
                scores, truncated, cut, hits_in_cache, rerank_s = [], [], 0, 0, 0.0
            timings = Timings(recall_s=recall_s, rerank_s=rerank_s)
            table = build_table(texts, scores, entries=entries, truncated=truncated)
            status = f"{_reranker_status(self.scorer, len(texts), timings, cut, hits_in_cache)} · {recall}"
            kind = "reranker"
        logger.info("FAQ search: %d of %d rows recalled in %.0f ms", len(hits), len(base.kb), recall_s * 1000)
        return DeskResult(
            table=table,
            kind=kind,
            threshold=threshold,
            summary=f"{base.describe()} Keyword search picked {len(hits)} of them (top K = {top_k}).",
            status=status,
            timings=timings,
            csv_path=export_csv(table, self.export_dir),
        )

    def _load_upload(self, path: Path) -> KnowledgeBase:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InvalidInput("The uploaded file is gone from the server; upload it again.") from None
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


def _reranker_status(scorer: Scorer, pairs: int, timings: Timings, truncated: int, cache_hits: int) -> str:
    engine = scorer.backend_name
    if scorer.backend.description:
        engine += f" ({scorer.backend.description})"
    parts = [engine, scorer.model, f"{pairs} pairs scored"]
    if timings.recall_s is not None:
        parts.append(f"recall {_ms(timings.recall_s)}")
    parts += [f"rerank {_ms(timings.rerank_s or 0.0)}", f"{truncated} truncated", f"{cache_hits} cache hits"]
    return " · ".join(parts)


def _check_query(query: str) -> str:
    if not query or not query.strip():
        raise InvalidInput("Type the customer's question first.")
    return query.strip()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
