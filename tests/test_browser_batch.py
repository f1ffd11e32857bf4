"""The Batch tab in a real browser: rows arrive with a progress bar, Stop keeps those answered so far."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from test_browser import EN_BASE, SlowBackend

from reranker.desk.desk import Desk
from reranker.engine.scorer import ScoreCache
from reranker.i18n import t
from reranker.knowledge.bases import bundled_bases
from reranker.ui import export_dir
from reranker.ui.batch_tab import UPDATE_EVERY

pytestmark = [pytest.mark.browser, pytest.mark.slow]
QUESTIONS = 4 * UPDATE_EVERY


def answered(page) -> str:
    """The summary's first line ("N of M questions checked: …"), without the progress overlay."""
    return next(
        line for line in page.inner_text("#batch-summary").splitlines() if "questions checked" in line
    )


def test_stop_keeps_the_rows_answered_so_far_and_their_csv(browser, hf_scorer, launch_desk, tmp_path):
    slow = replace(hf_scorer, backend=SlowBackend(hf_scorer.backend, 0.15), cache=ScoreCache())
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(launch_desk(Desk(slow, export_dir=export_dir(), bases=bundled_bases())))
    questions = tmp_path / "questions.csv"
    questions.write_text("question\n" + "\n".join(f"refund for order {n}" for n in range(QUESTIONS)) + "\n")
    page.get_by_role("tab", name="Batch").click()
    page.click("#batch-base input")
    page.get_by_role("option", name=EN_BASE).click()
    page.set_input_files("#batch-questions input[type=file]", str(questions))
    page.get_by_text("questions.csv").first.wait_for()
    page.click("#batch-run")
    page.get_by_text(f"{UPDATE_EVERY} of {QUESTIONS} questions checked").wait_for(timeout=60_000)
    page.click("#batch-stop")
    stopped = answered(page)
    for _ in range(10):  # an update already on its way may still land: wait until it has settled
        time.sleep(1.5)
        if answered(page) == stopped:
            break
        stopped = answered(page)
    time.sleep(UPDATE_EVERY * 0.15 * 3)  # time for at least another update, had the batch gone on
    assert answered(page) == stopped
    assert not stopped.startswith(f"{QUESTIONS} of")
    assert page.locator("#batch-download a").count() == 1
    page.close()


def test_a_chinese_browser_gets_the_batch_tab_in_chinese(browser, hf_scorer, launch_desk, tmp_path):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(launch_desk(Desk(hf_scorer, export_dir=export_dir(), bases=bundled_bases())))
    page.get_by_role("tab", name=t("tab_batch", "zh")).click()
    page.get_by_text("一次回答整个文件的客户问题").wait_for()
    for label in ("batch_questions", "batch_top_k", "batch_answers"):
        assert page.get_by_text(t(label, "zh")).count() >= 1, label
    questions = tmp_path / "questions.csv"
    questions.write_text("question\nrefund for my order\nwhere is my parcel\n")
    page.set_input_files("#batch-questions input[type=file]", str(questions))
    page.get_by_text("questions.csv").first.wait_for()
    page.get_by_role("button", name=t("batch_run", "zh")).click()
    page.get_by_text("已检查 2/2 个问题").wait_for(timeout=60_000)
    assert "questions checked" not in page.inner_text("#batch-summary")
    assert page.locator("#batch-table").get_by_text(t("batch_col_verdict", "zh")).count() >= 1
    context.close()
