"""The Batch tab in a real browser: rows arrive with a progress bar, Stop keeps those answered so far."""

from __future__ import annotations

import queue
from dataclasses import replace

import pytest
from conftest import GatedBackend, watched
from playwright.sync_api import expect
from test_browser import EN_BASE

from reranker.desk.desk import Desk
from reranker.engine.cache import ScoreCache
from reranker.i18n import t
from reranker.knowledge.bases import bundled_bases
from reranker.ui import batch_tab, export_dir
from reranker.ui.batch_tab import UPDATE_EVERY

pytestmark = [pytest.mark.browser, pytest.mark.slow]
QUESTIONS = 4 * UPDATE_EVERY


def answered(page) -> str:
    """The summary's first line ("N of M questions checked: …"), without the progress overlay."""
    return next(
        line for line in page.inner_text("#batch-summary").splitlines() if "questions checked" in line
    )


def test_stop_keeps_the_rows_answered_so_far_and_their_csv(
    browser, hf_scorer, launch_desk, tmp_path, monkeypatch
):
    gated = GatedBackend(hf_scorer.backend)
    outcomes: queue.Queue[str] = queue.Queue()
    monkeypatch.setattr(batch_tab, "run_batch", watched(batch_tab.run_batch, outcomes))
    desk = Desk(
        replace(hf_scorer, backend=gated, cache=ScoreCache()), export_dir=export_dir(), bases=bundled_bases()
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(launch_desk(desk))
    questions = tmp_path / "questions.csv"
    questions.write_text("question\n" + "\n".join(f"refund for order {n}" for n in range(QUESTIONS)) + "\n")
    page.get_by_role("tab", name="Batch").click()
    page.click("#batch-base input")
    page.get_by_role("option", name=EN_BASE).click()
    page.set_input_files("#batch-questions input[type=file]", str(questions))
    expect(page.locator("#batch-questions")).to_contain_text(".csv", timeout=60_000)  # the upload has landed
    gated.allow(UPDATE_EVERY)  # one update's worth of questions, then the engine holds the next
    page.click("#batch-run")
    page.get_by_text(f"{UPDATE_EVERY} of {QUESTIONS} questions checked").wait_for(timeout=60_000)
    gated.wait_for_calls(UPDATE_EVERY + 1)
    page.click("#batch-stop")
    gated.open()  # the held question ends; a batch that went on would answer all the others now
    assert outcomes.get(timeout=60) == "closed"  # the batch was closed, it did not run to its end
    assert gated.calls <= 2 * UPDATE_EVERY  # at most the rest of the update under way when Stop came
    assert answered(page).startswith(f"{UPDATE_EVERY} of {QUESTIONS} questions checked")
    expect(page.locator("#batch-download a")).to_have_count(1)
    page.close()


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
