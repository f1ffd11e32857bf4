"""The ranked table: build it from scores, colour it, render it as safe HTML, export it as CSV.

Candidate texts come from agents' pastes and uploaded files, so every text that reaches HTML
goes through :func:`html.escape`; no markup from a candidate is ever rendered.

>>> table = build_table(["Ships in 24h", "Reset your password"], [0.2, 0.91])
>>> table[ANSWER].tolist(), table[SCORE].tolist()
(['Reset your password', 'Ships in 24h'], [0.91, 0.2])
>>> score_colour(1.0)
'#4ade80'
"""

from __future__ import annotations

import html
import math
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from reranker.engine.scorer import score_order
from reranker.i18n import Lang, t
from reranker.knowledge.bases import FaqEntry
from reranker.text import neutralise_formula

#: reranker: P("yes"); keyword: BM25 alone; first_stage: the dense or hybrid search's own score.
ScoreKind = Literal["reranker", "keyword", "first_stage"]

RANK = "Rank"
SCORE = "Score"
KEYWORD_SCORE = "Keyword score (BM25)"
SEARCH_SCORE = "Search score (first stage)"
KEYWORD_RANK = "Keyword rank"
DENSE_RANK = "Dense rank"
ANSWER = "Answer"
FAQ_QUESTION = "FAQ question"
FAQ_ID = "FAQ id"
CATEGORY = "Category"
TRUNCATED = "Truncated"
#: (start, end, windows) of the passage that earned a long answer's score; None for a one-window
#: answer. Shown as a highlight in the HTML table; the CSV carries the passage (:data:`PASSAGE`).
EVIDENCE = "Evidence"
PASSAGE = "Best passage"
SCORE_DECIMALS = 3
#: Answers longer than this (characters or lines) are folded to a few lines, with a "more" button.
FOLD_CHARS, FOLD_LINES = 220, 4

# Red -> amber -> green (Tailwind's 400 shades). Each pill also sets its own dark text colour,
# so it reads the same on light and dark themes (contrast >= 6:1 at every point of the scale).
_LOW, _MID, _HIGH = (0xF8, 0x71, 0x71), (0xFB, 0xBF, 0x24), (0x4A, 0xDE, 0x80)
PILL_TEXT = "#111827"
EXPORT_PREFIX = "ranked-answers-"
EXPORT_MAX_AGE_S = 15 * 60
# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
#: The message id of each column's header (the table keeps English column names inside).
HEADER_KEYS = {RANK: "col_rank", SCORE: "col_score", KEYWORD_SCORE: "col_keyword", SEARCH_SCORE: "col_search",
               ANSWER: "col_answer", FAQ_QUESTION: "col_faq_question", FAQ_ID: "col_faq_id", CATEGORY: "col_category",
               TRUNCATED: "col_truncated", PASSAGE: "col_passage", KEYWORD_RANK: "col_keyword_rank", DENSE_RANK: "col_dense_rank"}  # fmt: skip


def score_column(kind: ScoreKind) -> str:
    """The score column's header: keyword scores are never labelled as reranker scores."""
    return {"reranker": SCORE, "keyword": KEYWORD_SCORE, "first_stage": SEARCH_SCORE}[kind]


def build_table(
    texts: Sequence[str],
    scores: Sequence[float | None],
    *,
    entries: Sequence[FaqEntry] | None = None,
    truncated: Sequence[bool] | None = None,
    kind: ScoreKind = "reranker",
    ranks: Sequence[tuple[int | None, int | None]] | None = None,
    evidence: Sequence[tuple[int, int, int] | None] | None = None,
) -> pd.DataFrame:
    """Candidates sorted by score, best first (ties keep input order), scores to 3 decimals.

    A score of None means "not scored yet" and NaN "the engine gave none": both follow the
    scored rows, in input order (keyword or paste order). Columns: Rank, Score (or "Keyword
    score (BM25)"), Answer; with ``entries`` also FAQ
    question, FAQ id and Category; with ``ranks`` ((keyword rank, dense rank) per text, None where
    that stage did not find it) also Keyword rank and Dense rank; with reranker scores also
    Truncated (the answer was longer than the whole-document limit and its end was cut). With
    ``evidence`` ((start, end, windows) of the best window per text, None for a one-window answer)
    where any answer was scored in windows, also Evidence.
    """
    if len(scores) != len(texts) or (entries is not None and len(entries) != len(texts)):
        raise ValueError("texts, scores and entries must have the same length")
    flags = list(truncated) if truncated is not None else [False] * len(texts)
    order = score_order(scores)
    columns: dict[str, list[object]] = {
        RANK: list(range(1, len(texts) + 1)),
        score_column(kind): [
            None if scores[i] is None else round(float(scores[i]), SCORE_DECIMALS)  # type: ignore[arg-type]
            for i in order
        ],
        ANSWER: [texts[i] for i in order],
    }
    if entries is not None:
        columns[FAQ_QUESTION] = [entries[i].question for i in order]
        columns[FAQ_ID] = [entries[i].id for i in order]
        columns[CATEGORY] = [entries[i].category for i in order]
    if ranks is not None:
        columns[KEYWORD_RANK] = pd.array([ranks[i][0] for i in order], dtype="Int64")
        columns[DENSE_RANK] = pd.array([ranks[i][1] for i in order], dtype="Int64")
    if kind == "reranker":
        columns[TRUNCATED] = [bool(flags[i]) for i in order]
    if evidence is not None and any(span is not None for span in evidence):
        columns[EVIDENCE] = [evidence[i] for i in order]
    return pd.DataFrame(columns)


def score_colour(score: float) -> str:
    """Background colour for a 0-1 score: red at 0, amber at 0.5, green at 1 (clamped)."""
    if math.isnan(score):
        raise ValueError("score is NaN")
    value = min(1.0, max(0.0, score))
    start, end, t = (_LOW, _MID, value * 2) if value < 0.5 else (_MID, _HIGH, value * 2 - 1)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(start, end))


def render_table_html(table: pd.DataFrame, *, state: Literal["partial", "final", "stopped"] = "final",
                      scored: int = 0, total: int = 0, picks: bool = False,
                      lang: Lang = "en") -> str:  # fmt: skip
    """The ranked table as HTML in ``lang``; the best row is marked; every text cell is escaped.

    Every row ends in an ``actions`` cell with a Copy button (the page script copies the row's
    answer). With ``picks`` (a final FAQ table), each row's ``actions`` cell also gets an
    "Answers it" button and the table a "None of these" button; each carries ``data-pick`` (the
    FAQ id, empty for none) for the desk's click handler (:mod:`reranker.ui.picks`).

    Reranker scores get the colour scale; keyword (BM25) scores are shown plain, because
    they are not probabilities. A ``partial`` table (scores still coming) carries
    ``data-state="partial"`` and a caption saying how many rows are scored; its unscored
    rows are marked "not reranked yet", and no row is called best until it is final. In a
    final table a NaN score reads "no score". The best row carries both a "Best" and a "Not
    confident" badge: the page shows the one the banner's verdict calls for.
    """
    kind = next(k for k in ("reranker", "keyword", "first_stage") if score_column(k) in table.columns)  # type: ignore[arg-type]
    has_faq = FAQ_ID in table.columns
    final = state != "partial"  # a stopped table is final for what it holds: its scored rows
    picks = picks and has_faq and state == "final" and not table.empty
    headers = [
        ("rank", "#"),
        ("score", t(HEADER_KEYS[score_column(kind)], lang)),
        ("text", t("col_answer", lang)),
    ]
    headers += [("faq-id", f"{t('col_faq_id', lang)} · {t('col_category', lang)}")] if has_faq else []
    headers.append(("actions", t("col_actions", lang)))
    head = "".join(f'<th class="{cls}">{html.escape(h)}</th>' for cls, h in headers)
    body = "".join(_render_row(row, kind, has_faq, final, picks, lang) for row in table.to_dict("records"))
    if not body:
        body = f'<tr><td class="empty" colspan="{len(headers)}">{_escape(t("no_candidates", lang))}</td></tr>'
    caption = (
        ""
        if final
        else f'<caption class="rank-progress">{_escape(t("partial_caption", lang, scored=scored, total=total))}'
        "</caption>"
    )
    bar = f'<div class="pick-bar">{_pick_button("", lang)}</div>' if picks else ""
    return (
        f'{bar}<table class="rank-table" data-score-kind="{kind}" data-state="{state}">'
        f"{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _pick_button(faq_id: str, lang: Lang, extra: str = "") -> str:
    """A pick button: an FAQ id answers it, or "" for none of these. ``data-saved`` is what it says once
    the pick is saved (the page script swaps the labels; clicking it again undoes the pick)."""
    label = t("pick_answers" if faq_id else "pick_none", lang)
    kind = "pick" if faq_id else "pick pick-none"
    return (
        f'<button type="button" class="{kind}{extra}" data-pick="{_escape(faq_id)}" data-label="{_escape(label)}" '
        f'data-saved="{_escape(t("pick_saved_undo", lang))}">{_escape(label)}</button>'
    )


def _render_row(row: dict[str, object], kind: ScoreKind, has_faq: bool, final: bool, picks: bool,
                lang: Lang) -> str:  # fmt: skip
    rank = int(row[RANK])  # type: ignore[call-overload]
    raw = row[score_column(kind)]
    score = math.nan if raw is None else float(raw)  # type: ignore[arg-type]
    missing = math.isnan(score)
    pending = missing and not final
    score_cell = (
        f'<span class="score-pending">{_escape(t("not_scored_yet", lang))}</span>'
        if pending
        else _score_cell(score, kind, lang)
    )
    text, span = str(row[ANSWER]), row.get(EVIDENCE)
    folded = len(text) > FOLD_CHARS or text.count("\n") >= FOLD_LINES  # a few lines; "more" unfolds it
    classes = "answer folded" if folded else "answer"
    answer = f'<div class="{classes}">{_answer_html(text, span)}</div>'
    if folded:
        answer += (f'<button type="button" class="more" data-less="{_escape(t("less", lang))}">'
                   f'{_escape(t("more", lang))}</button>')  # fmt: skip
    if span:
        answer += f'<div class="note evidence-note">{_escape(t("evidence_note", lang, n=span[2]))}</div>'
    if row.get(TRUNCATED):
        answer += f'<div class="note">{_escape(t("cut_note", lang))}</div>'
    if has_faq and row.get(FAQ_QUESTION):
        answer = f'<div class="faq-question">{_escape(row[FAQ_QUESTION])}</div>' + answer
    is_best = final and rank == 1 and not missing
    best = (
        f' <span class="best-badge">{_escape(t("badge_best", lang))}</span>'
        f'<span class="unsure-badge">{_escape(t("badge_unsure", lang))}</span>'
        if is_best
        else ""
    )
    cells = [
        f'<td class="rank">{rank}{best}</td>',
        f'<td class="score">{score_cell}</td>',
        f'<td class="text">{answer}</td>',
    ]
    faq_id = ""
    if has_faq:
        faq_id = f' data-faq-id="{_escape(row[FAQ_ID])}"'
        category = f'<div class="category">{_escape(row[CATEGORY])}</div>' if row.get(CATEGORY) else ""
        cells.append(f'<td class="faq-id">{_escape(row[FAQ_ID])}{_ranks_note(row, lang)}{category}</td>')
    actions = f'<button type="button" class="copy-answer" data-done="{_escape(t("copied", lang))}">{_escape(t("copy", lang))}</button>'
    if picks:
        actions += f" {_pick_button(str(row[FAQ_ID]), lang)} {_pick_button('', lang, ' card-only')}"
    cells.append(f'<td class="actions">{actions}</td>')
    row_class = "best" if is_best else "pending" if pending else ""
    return f'<tr class="{row_class}" data-rank="{rank}"{faq_id}>{"".join(cells)}</tr>'


def _answer_html(text: str, span: tuple[int, int, int] | None) -> str:
    """The answer, escaped, with the passage that earned its score in ``<mark class="evidence">``."""
    if not span:
        return _escape(text)
    start, end, _ = span
    return (f'{_escape(text[:start])}<mark class="evidence">{_escape(text[start:end])}</mark>'
            f"{_escape(text[end:])}")  # fmt: skip


def _ranks_note(row: dict[str, object], lang: Lang) -> str:
    """ "kw #3 · dense #1" under the FAQ id: where each first stage put the entry."""
    if KEYWORD_RANK not in row:
        return ""
    parts = [t(key, lang, rank=int(rank)) for key, rank in (("stage_rank_kw", row[KEYWORD_RANK]),
             ("stage_rank_dense", row[DENSE_RANK])) if rank is not None and not pd.isna(rank)]  # type: ignore[call-overload]  # fmt: skip
    title = _escape(t("stage_ranks_title", lang))
    return f'<div class="stage-ranks" title="{title}">{" · ".join(parts)}</div>' if parts else ""


def _score_cell(score: float, kind: ScoreKind, lang: Lang = "en") -> str:
    if math.isnan(score):
        return f'<span class="no-score">{_escape(t("no_score", lang))}</span>'
    if kind == "reranker":
        return (
            f'<span class="score-pill" style="background:{score_colour(score)};color:{PILL_TEXT}">'
            f"{score:.{SCORE_DECIMALS}f}</span>"
        )
    title = _escape(t("score_title_first_stage" if kind == "first_stage" else "score_title_keyword", lang))
    return f'<span class="keyword-score" title="{title}">{score:.{SCORE_DECIMALS}f}</span>'


def render_preview(entries: Sequence[FaqEntry], lang: Lang = "en") -> str:
    """The first rows of an uploaded base (question and answer), escaped, as a small table."""
    head = (
        f"<tr><th>{_escape(t('col_faq_question', lang))}</th><th>{_escape(t('col_answer', lang))}</th></tr>"
    )
    rows = "".join(f"<tr><td>{_escape(e.question)}</td><td>{_escape(e.answer)}</td></tr>" for e in entries)
    return f'<table class="upload-preview"><thead>{head}</thead><tbody>{rows}</tbody></table>'


def render_message(text: str, kind: Literal["ok", "warn", "info", "error"]) -> str:
    """A banner (or status) box with escaped text; ``kind`` picks its colours."""
    role = "alert" if kind in ("warn", "error") else "status"
    return f'<div class="desk-message desk-{kind}" role="{role}">{_escape(text)}</div>'


def export_csv(table: pd.DataFrame, directory: Path, *, max_age_s: float = EXPORT_MAX_AGE_S,
               lang: Lang = "en") -> Path:  # fmt: skip
    """Write ``table`` as a UTF-8 CSV (with BOM, so Excel shows Chinese) into ``directory``.

    The headers are in ``lang``.
    Text cells that a spreadsheet would run as a formula are neutralised (see
    :func:`neutralise_formula`). Earlier exports older than ``max_age_s`` are deleted first: the server hands each file to
    the browser right after it is written, so old ones are never needed again.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - max_age_s
    for old in directory.glob(f"{EXPORT_PREFIX}*.csv"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:  # another request removed it first
            continue
    path = directory / f"{EXPORT_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.csv"
    if EVIDENCE in table.columns:
        passages = [
            text[span[0] : span[1]] if span else "" for text, span in zip(table[ANSWER], table[EVIDENCE])
        ]
        table = table.drop(columns=[EVIDENCE]).assign(**{PASSAGE: passages})
    headers = {column: t(HEADER_KEYS[column], lang) for column in table.columns if column in HEADER_KEYS}
    write_csv(table.rename(columns=headers), path)
    return path


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """The one way a table becomes a CSV file for people: UTF-8 with BOM (Excel shows Chinese),
    CRLF rows (RFC 4180, what Excel writes; a cell holding a CR is quoted) and formula cells
    neutralised (:func:`neutralise_formula`). Raises ``OSError`` when ``path`` cannot be written.
    """
    table.map(neutralise_formula).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)
