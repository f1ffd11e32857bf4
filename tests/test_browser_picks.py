"""The desk's pick buttons in a real browser: "Answers it" saves the pick, Undo removes it."""

from __future__ import annotations

import pytest
from test_browser import EN_BASE, EN_QUERY, ranked_answers, search_the_english_base

from reranker.i18n import t

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(browser, desk, picks, launch_desk):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(launch_desk(desk, picks))
    page.wait_for_selector("#query textarea")
    yield page
    page.close()


def rank_from_the_base(page) -> list[str]:
    search_the_english_base(page)
    ranked_answers(page)
    return page.locator("#ranked-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.faqId)")


def test_answers_it_saves_the_pick_and_undo_removes_it(page, store):
    ids = rank_from_the_base(page)
    page.locator("#ranked-table tbody tr").nth(1).get_by_role("button", name="Answers it").click()
    page.wait_for_selector("#pick-status :text('Saved')")
    [saved] = store.records()
    assert saved.chosen_id == ids[1] and saved.question == EN_QUERY
    assert [answer.id for answer in saved.shown] == ids
    assert [answer.rank for answer in saved.shown] == list(range(1, len(ids) + 1))
    page.click("#pick-undo")
    page.wait_for_selector("#pick-status :text('Undone')")
    assert store.records() == []


def test_none_of_these_saves_an_out_of_scope_pick(page, store):
    rank_from_the_base(page)
    page.get_by_role("button", name="None of these").click()
    page.wait_for_selector("#pick-status :text('Saved')")
    assert [record.chosen_id for record in store.records()] == [None]


def test_a_chinese_browser_gets_the_pick_panel_in_chinese(browser, desk, picks, store, launch_desk):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(launch_desk(desk, picks))
    page.wait_for_selector(f"#pick-status :text('{t('picks_faq_only', 'zh')}')")
    page.fill("#query textarea", EN_QUERY)
    page.get_by_role("tab", name=t("tab_faq", "zh")).click()
    page.click("#base input")
    page.get_by_role("option", name=EN_BASE).click()
    page.get_by_text("117 条 FAQ").wait_for()
    page.click("#rank-faq")
    ranked_answers(page)
    page.locator("#ranked-table tbody tr").nth(0).get_by_role("button", name=t("pick_answers", "zh")).click()
    page.wait_for_selector("#pick-status :text('已保存')")
    page.get_by_role("button", name=t("undo", "zh")).click()
    page.wait_for_selector(f"#pick-status :text('{t('undone', 'zh')}')")
    assert store.records() == []
    context.close()
