"""Picks without a browser: the table's pick buttons, what a ranking showed, stored thresholds, recent requests."""

from __future__ import annotations

import gradio as gr
import pytest

from reranker.desk.desk import Desk
from reranker.desk.results import build_table, render_table_html
from reranker.feedback.picks import RecentRequests, Shown
from reranker.knowledge.bases import FaqEntry, bundled_bases
from reranker.store import ShownAnswer
from reranker.ui import export_dir
from reranker.ui.picks import record, shown_of, threshold_in_use, undo

EN_BASE = list(bundled_bases())[1]
ENTRIES = [FaqEntry('a"1', "Shipping?", "3-5 days."), FaqEntry("b2", "Refund?", "Within 30 days.")]


@pytest.fixture
def desk() -> Desk:
    """A desk without a model (keyword search only): the picks need no scores. ``picks`` is conftest's."""
    return Desk(None, "no model", export_dir=export_dir(), bases=bundled_bases())


def faq_table():
    return build_table([e.answer for e in ENTRIES], [0.2, 0.9], entries=ENTRIES)


def test_a_final_faq_table_gets_one_answers_it_per_row_and_none_of_these(picks):
    html = render_table_html(faq_table(), picks=True)
    assert html.count(">Answers it</button>") == 2
    assert html.count(">None of these</button>") == 1 + 2  # above the table, and in each card (phone only)
    assert html.index('class="pick-bar"') < html.index("<table")
    assert 'class="pick" data-pick="b2" data-label="Answers it" data-saved="✓ Saved · Undo">Answers it</button>' in html
    assert 'data-faq-id="a&quot;1"' in html and 'data-pick="a&quot;1"' in html


def test_no_pick_buttons_while_scores_arrive_or_for_pasted_answers(picks):
    assert "data-pick" not in render_table_html(faq_table(), state="partial", picks=True)
    assert "data-pick" not in render_table_html(build_table(["x", "y"], [0.1, 0.2]), picks=True)
    assert "data-pick" not in render_table_html(faq_table())


def test_a_ranking_shows_ids_scores_and_ranks(desk):
    result = desk.rerank_faq("where is my parcel", None, desk.select_base(EN_BASE), top_k=3)
    shown = shown_of(result, EN_BASE, " where is my parcel ", "Judge it")
    assert shown is not None and shown.question == "where is my parcel" and shown.instruction == "Judge it"
    assert [a.rank for a in shown.answers] == [1, 2, 3]
    assert all(a.score is None for a in shown.answers)  # keyword scores are not reranker scores
    assert shown_of(result, None, "where is my parcel", None) is None  # an uploaded file


def test_a_stored_threshold_replaces_the_slider_and_says_so(desk, picks):
    assert threshold_in_use(picks, EN_BASE, 0.7) == (0.7, "")
    picks.store.set_threshold(EN_BASE, 0.42)
    threshold, note = threshold_in_use(picks, EN_BASE, 0.7)
    assert threshold == 0.42 and "0.42 stored for" in note
    assert threshold_in_use(picks, None, 0.7) == (0.7, "")


def test_recent_requests_forget_the_oldest_first():
    recent = RecentRequests(capacity=2)
    for n in range(3):
        recent.remember(str(n), Shown("b", f"q{n}", None, (ShownAnswer("x", 0.5, 1),)))
    assert recent.get("0") is None and recent.get("2").question == "q2" and len(recent) == 2
    assert recent.get(None) is None


def test_a_pick_records_the_signed_in_user_and_undo_removes_it(desk, picks):
    result = desk.rerank_faq("where is my parcel", None, desk.select_base(EN_BASE), top_k=3)
    shown = shown_of(result, EN_BASE, "where is my parcel", None)
    chosen = shown.answers[1].id
    message, _, record_id = record(
        picks, shown, gr.Request(username="agent"), gr.EventData(None, {"pick": chosen})
    )
    assert "Saved" in message
    [saved] = picks.store.records()
    assert (saved.id, saved.user, saved.chosen_id, saved.shown) == (record_id, "agent", chosen, shown.answers)
    assert "Undone" in undo(picks, record_id)[0] and picks.store.records() == []


def test_a_pick_before_any_faq_ranking_is_not_recorded(desk, picks):
    message, _, record_id = record(picks, None, gr.Request(), gr.EventData(None, {"pick": "en-004"}))
    assert "Search an FAQ base first" in message and record_id is None
    assert picks.store.records() == []
