"""The Batch tab in a real browser: rows arrive with a progress bar; Stop keeps every row answered so far
and says how many; Stop with no batch running does nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import GatedBackend
from playwright.sync_api import expect
from test_browser import EN_BASE

from reranker.desk.desk import Desk
from reranker.engine.cache import ScoreCache
from reranker.i18n import t
from reranker.knowledge.bases import bundled_bases
from reranker.ui import export_dir
from reranker.ui.batch_tab import UPDATE_EVERY

pytestmark = [pytest.mark.browser, pytest.mark.slow]
QUESTIONS = 4 * UPDATE_EVERY


def stop_of(demo) -> int:
    """The Batch tab's Stop button's id (its click's request names it as the trigger)."""
    return next(
        block._id for block in demo.blocks.values() if getattr(block, "elem_id", None) == "batch-stop"
    )


def checked(lang: str, done: int) -> str:
    """The summary's "10 of 40 questions checked" (in ``lang``)."""
    counts = dict(answered=0, confident=0, escalate=0, missing=0, threshold=0, source="")
    return t("batch_summary", lang, done=done, total=QUESTIONS, **counts).replace("：", ":").split(":")[0]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_stop_keeps_every_row_answered_so_far_and_says_how_many(browser, hf_scorer, launch_desk, tmp_path,
                                                                locale):  # fmt: skip
    lang = locale[:2]
    gated = GatedBackend(hf_scorer.backend)
    desk = Desk(
        replace(hf_scorer, backend=gated, cache=ScoreCache()), export_dir=export_dir(), bases=bundled_bases()
    )
    url = launch_desk(desk)
    stop = stop_of(launch_desk.demos[url])
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(url)
    questions = tmp_path / "questions.csv"
    questions.write_text("question\n" + "\n".join(f"refund for order {n}" for n in range(QUESTIONS)) + "\n")
    page.get_by_role("tab", name=t("tab_batch", lang)).click()
    page.click("#batch-base input")
    page.get_by_role("option", name=EN_BASE).click()
    page.set_input_files("#batch-questions input[type=file]", str(questions))
    expect(page.locator("#batch-questions")).to_contain_text(".csv", timeout=60_000)  # the upload has landed
    answered = UPDATE_EVERY + 3  # one update's worth of questions, two more, and the one under way at Stop
    gated.allow(answered - 1)  # then the engine holds the next question
    page.click("#batch-run")
    expect(page.locator("#batch-summary")).to_contain_text(checked(lang, UPDATE_EVERY), timeout=60_000)
    gated.wait_for_calls(answered)
    with page.expect_response(
        lambda r: "/run/predict" in r.url and r.request.post_data_json["trigger_id"] == stop
    ):
        page.click("#batch-stop")
    gated.allow(1)  # the question under way ends; the batch stops before the next one
    summary = page.locator("#batch-summary")
    stopped = t("batch_stopped", lang, done=answered, total=QUESTIONS)
    expect(summary).to_contain_text(stopped, timeout=60_000)
    expect(summary).to_contain_text(checked(lang, answered))
    table = page.locator("#batch-table")
    expect(table).to_contain_text(f"refund for order {answered - 1}")  # every row so far, not only 10
    expect(table).not_to_contain_text(f"refund for order {answered}")
    csv = page.request.get(page.locator("#batch-download a").get_attribute("href")).text()
    assert len(csv.strip().splitlines()) == answered + 1  # their CSV, with its header
    assert gated.calls == answered  # nothing more was answered
    with page.expect_response(
        lambda r: "/run/predict" in r.url and r.request.post_data_json["trigger_id"] == stop
    ):
        page.click("#batch-stop")  # Stop with no batch running does nothing
    expect(summary).to_contain_text(stopped)
    expect(table).to_contain_text(f"refund for order {answered - 1}")
    context.close()


def test_a_chinese_browser_gets_the_batch_tab_in_chinese(browser, app_url, tmp_path):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    page.get_by_role("tab", name=t("tab_batch", "zh")).click()
    page.get_by_text("一次回答整个文件的客户问题").wait_for()
    for label in ("batch_questions", "batch_top_k", "batch_answers"):
        assert page.get_by_text(t(label, "zh")).count() >= 1, label
    questions = tmp_path / "questions.csv"
    questions.write_text("question\nrefund for my order\nwhere is my parcel\n")
    page.set_input_files("#batch-questions input[type=file]", str(questions))
    expect(page.locator("#batch-questions")).to_contain_text(".csv", timeout=60_000)  # the upload has landed
    page.get_by_role("button", name=t("batch_run", "zh")).click()
    page.get_by_text("已检查 2/2 个问题").wait_for(timeout=60_000)
    assert "questions checked" not in page.inner_text("#batch-summary")
    assert page.locator("#batch-table").get_by_text(t("batch_col_verdict", "zh")).count() >= 1
    context.close()
