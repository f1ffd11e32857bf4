"""The Knowledge tab's views of what the agents teach: phrasing suggestions, knowledge gaps, entry health.

Plain functions over the desk's :class:`~reranker.feedback.knowledge.Knowledge` and widget values
(:mod:`reranker.ui.knowledge_tab` wires them). A suggestion is approved (its question becomes a
phrasing of the entry) or rejected; a gap is drafted into a new entry, which the form of the
Entries view saves through :meth:`~reranker.feedback.knowledge_gaps.KnowledgeGaps.create_entry`
(:func:`reranker.ui.knowledge_entries.save_entry`), or dismissed. Only leads decide; the editor
says so to anyone else.

>>> table, topics = gaps_view(knowledge.gaps, "English store FAQ (en_store_faq.csv)", "en")   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr
import pandas as pd

from reranker.desk.desk import Desk
from reranker.errors import RerankError
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.knowledge_gaps import KnowledgeGaps, confused_pairs, entry_health, unpicked
from reranker.feedback.team import Team
from reranker.i18n import Lang, t
from reranker.ui.knowledge_entries import Opened, failed, form_of, frame, index_note, message, unchanged, when

SUGGESTION_COLUMNS = ("kn_col_suggestion", "kn_col_customer_question", "kn_col_entry", "kn_col_entry_question",
                      "kn_col_picks", "kn_col_agents", "kn_col_last_seen")  # fmt: skip
GAP_COLUMNS = (
    "kn_col_gap_question",
    "kn_col_count",
    "kn_col_first_seen",
    "kn_col_last_seen",
    "kn_col_samples",
)
HEALTH_COLUMNS = ("kn_col_id", "kn_col_question", "kn_col_shown", "kn_col_picked", "kn_col_last_picked")
PAIR_COLUMNS = ("kn_col_entry_a", "kn_col_entry_b", "kn_col_together", "kn_col_a_over_b", "kn_col_b_over_a")
#: The Entries view's tab, which "Draft an entry" opens.
ENTRIES_TAB = "kn-entries"
#: Gaps as the table lists them: each topic's representative question -> the gap's id.
Topics = dict[str, str]


# Suggestions -------------------------------------------------------------------------------------


def suggestions_table(knowledge: Knowledge, base: str | None, lang: Lang = "en") -> pd.DataFrame:
    """The base's pending suggestions, those more agents made first: number, customer's question,
    entry id and its question, picks, agents, last seen."""
    if not base:
        return frame([], SUGGESTION_COLUMNS, lang)
    questions = {entry.id: entry.question for entry in knowledge.editor.listing(base)}
    rows = [[s.id, s.question, s.entry_id, questions.get(s.entry_id, ""), s.picks, t("list_sep", lang).join(s.users),
             when(s.last_seen)] for s in knowledge.learner.pending(base)]  # fmt: skip
    return frame(rows, SUGGESTION_COLUMNS, lang)


def decide_suggestion(desk: Desk, knowledge: Knowledge, team: Team, suggestion_id: str | None, approve: bool,
                      user: str | None = None, lang: Lang = "en") -> str:  # fmt: skip
    """Approve the selected suggestion (a new version of its entry with the question as a phrasing)
    or reject it (never suggested again); a lead's decision."""
    if not suggestion_id:
        return message(t("kn_choose_suggestion", lang), "info")
    try:
        member = team.member(user)
        suggestion = knowledge.editor.entries.suggestion(int(suggestion_id))
        if not approve:
            knowledge.learner.reject(suggestion.id, by=member)
            return message(t("kn_rejected", lang, question=suggestion.question, id=suggestion.entry_id))
        saved = knowledge.learner.approve(suggestion.id, by=member)
    except RerankError as exc:
        return failed(exc, lang)
    said = t("kn_approved", lang, question=suggestion.question, id=saved.id, version=saved.version)
    return message(f"{said} {index_note(desk, suggestion.base, lang)}")


# Gaps --------------------------------------------------------------------------------------------


def gaps_view(gaps: KnowledgeGaps, base: str | None, lang: Lang = "en") -> tuple[pd.DataFrame, Topics]:
    """The base's gaps, largest first (representative question, count, first and last seen, samples),
    and which gap each row is (for the row a lead selects)."""
    if not base:
        return frame([], GAP_COLUMNS, lang), {}
    found = gaps.find(base)
    rows = [[gap.question, gap.count, when(gap.first_seen), when(gap.last_seen), " · ".join(gap.samples)]
            for gap in found]  # fmt: skip
    return frame(rows, GAP_COLUMNS, lang), {gap.question: gap.id for gap in found}


def chosen_gap(topics: Topics | None, row: Sequence[object] | None) -> str | None:
    """The id of the gap in the selected row (its first cell is the representative question)."""
    if not topics or not row:
        return None
    return topics.get(str(row[0]))


def draft_gap(
    gaps: KnowledgeGaps, base: str | None, gap_id: str | None, lang: Lang = "en"
) -> tuple[Any, ...]:
    """The Entries form pre-filled for the gap (a free id, its question, the others as phrasings),
    the Entries view opened: a status line, the form, and the tabs."""
    if not base or not gap_id:
        return message(t("kn_choose_gap", lang), "info"), *unchanged(), gr.Tabs()
    try:
        draft = gaps.draft(base, gap_id)
    except RerankError as exc:
        return failed(exc, lang), *unchanged(), gr.Tabs()
    said = t("kn_drafted", lang, id=draft.id, question=draft.question, n=len(draft.phrasings) + 1)
    return (
        message(said, "info"),
        *form_of(draft, Opened(base, gap=gap_id), lang),
        gr.Tabs(selected=ENTRIES_TAB),
    )


def dismiss_gap(gaps: KnowledgeGaps, team: Team, base: str | None, gap_id: str | None, user: str | None = None,
                lang: Lang = "en") -> str:  # fmt: skip
    """Leave the gap's questions out of the view from now on (a lead's decision)."""
    if not base or not gap_id:
        return message(t("kn_choose_gap", lang), "info")
    try:
        gap = gaps.gap(base, gap_id)
        gaps.dismiss(base, gap_id, by=team.member(user))
    except RerankError as exc:
        return failed(exc, lang)
    return message(t("kn_dismissed", lang, question=gap.question, n=len(gap.questions)))


# Health ------------------------------------------------------------------------------------------


def health_view(knowledge: Knowledge, base: str | None, days: float | None = None,
                lang: Lang = "en") -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Per active entry: shown in the top 3, picked, last picked (with ``days`` over 0: only those
    not picked in that many days); and the pairs of entries agents confuse."""
    if not base:
        return frame([], HEALTH_COLUMNS, lang), frame([], PAIR_COLUMNS, lang)
    store = knowledge.gaps.picks.store
    records = store.records(base) if store is not None else []
    entries = knowledge.editor.listing(base)
    health = entry_health(entries, records)
    if days:
        health = unpicked(health, int(days))
    rows = [[h.id, h.question, h.shown_top, h.picked, when(h.last_picked) if h.last_picked else t("kn_never", lang)]
            for h in health]  # fmt: skip
    questions = {entry.id: entry.question for entry in entries}

    def named(entry_id: str) -> str:
        return f"{entry_id} · {questions[entry_id]}" if entry_id in questions else entry_id

    pairs = [[named(p.a), named(p.b), p.together, p.a_over_b, p.b_over_a] for p in confused_pairs(records)]
    return frame(rows, HEALTH_COLUMNS, lang), frame(pairs, PAIR_COLUMNS, lang)
