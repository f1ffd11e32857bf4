"""A desk with logins in a real browser: the page says who is signed in, picks carry the agent, Sign out ends it."""

from __future__ import annotations

import pytest
from test_browser import ranked_answers, search_the_english_base

from reranker.feedback.picks import Picks
from reranker.feedback.team import Team

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_agent_is_named_on_the_page_and_in_the_pick_and_signs_out(browser, desk, store, launch_desk):
    store.add_user("bo", "agent pw", "agent")
    url = launch_desk(desk, Picks(store, desk.bases, team=Team(store)))
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    assert page.request.post(f"{url}login", form={"username": "bo", "password": "agent pw"}).ok
    page.goto(url)
    page.wait_for_selector("#signed-in:has-text('Signed in as bo (agent)')")
    search_the_english_base(page)
    ranked_answers(page)
    page.locator("#ranked-table tbody tr").nth(0).get_by_role("button", name="Answers it").click()
    page.wait_for_selector("#pick-status :text('Saved')")
    assert [record.user for record in store.records()] == ["bo"]
    page.click("#sign-out")
    page.wait_for_selector("input[type=password]")
    assert page.locator("#query textarea").count() == 0
    context.close()
