"""The app in a real browser (Debian chromium via Playwright): what an agent sees and clicks."""

from __future__ import annotations

import queue
from dataclasses import replace

import pytest
from browser_settings import set_threshold
from conftest import GatedBackend, SlowBackend, watched
from playwright.sync_api import expect

from reranker.desk.desk import Desk
from reranker.engine.cache import ScoreCache
from reranker.engine.prompt import PromptEncoder
from reranker.i18n import t
from reranker.knowledge.bases import bundled_bases
from reranker.retrieval.keyword import search_base
from reranker.ui import export_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZH_QUERY = "订单一直显示待发货怎么办？"
ZH_CANDIDATES = [
    "您购买的商品正在打包中，通常24小时内发出。",
    "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。",
    "促销活动期间订单量激增，发货时间可能延长至48小时。",
]
EN_QUERY = "how many days till my order gets here"
EN_BASE = list(bundled_bases())[1]
EVIL = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 1">',
    "${window.__xss = 1}",
]


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(app_url)
    page.wait_for_selector("#query textarea")
    yield page
    page.close()


def ranked_answers(page) -> list[str]:
    page.wait_for_selector('#ranked-table table.rank-table[data-state="final"]')
    return page.locator("#ranked-table tbody tr .answer").all_inner_texts()


@pytest.fixture(scope="module")
def slow_app_url(hf_scorer, launch_desk):
    """An app whose every batch of scores takes 0.6 s more."""
    slow = replace(hf_scorer, backend=SlowBackend(hf_scorer.backend, 0.6), cache=ScoreCache())
    return launch_desk(Desk(slow, export_dir=export_dir(), bases=bundled_bases()))


def test_candidates_show_at_once_then_scores_arrive_until_the_table_is_final(
    browser, slow_app_url, hf_scorer
):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(slow_app_url)
    candidates = [f"{n}. {text}" for n, text in enumerate(ZH_CANDIDATES * 3)]
    page.fill("#query textarea", ZH_QUERY)
    page.fill("#pasted textarea", "\n".join(candidates))
    page.click("#rank-pasted")

    page.wait_for_selector('#ranked-table table[data-state="partial"]')
    assert page.locator("#ranked-table tbody tr").count() == len(candidates)
    assert "Not reranked yet" in page.inner_text("#ranked-table caption")
    page.wait_for_function(
        "document.querySelectorAll('#ranked-table tr.pending').length > 0 &&"
        " document.querySelectorAll('#ranked-table .score-pill').length > 0"
    )
    expected = [d.text for d in hf_scorer.rank(ZH_QUERY, candidates)]
    assert ranked_answers(page) == expected
    assert page.locator("#ranked-table tr.pending").count() == 0
    page.close()


def test_stop_cancels_a_ranking_that_is_no_longer_needed(browser, hf_scorer, launch_desk):
    gated = GatedBackend(hf_scorer.backend)
    desk = Desk(
        replace(hf_scorer, backend=gated, cache=ScoreCache()), export_dir=export_dir(), bases=bundled_bases()
    )
    outcomes: queue.Queue[str] = queue.Queue()
    desk.rank_pasted_stream = watched(desk.rank_pasted_stream, outcomes)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(launch_desk(desk))
    page.fill("#query textarea", "Where is my order?")
    page.fill("#pasted textarea", "\n".join(f"Stop test answer {n}" for n in range(20)))
    page.click("#rank-pasted")
    page.wait_for_selector('#ranked-table table[data-state="partial"]')
    gated.wait_for_calls(1)  # the first batch is being scored, and held there
    page.click("#stop")
    gated.open()  # the held batch ends; a ranking that went on would score the other answers now
    assert outcomes.get(timeout=60) == "finished"  # it ended itself after the held batch, with its scores
    expect(page.locator('#ranked-table table[data-state="stopped"] tbody tr')).to_have_count(2)
    expect(page.locator("#status")).to_contain_text("Stopped: 2 of 20 scored.")
    assert gated.calls == 1
    expect(page.locator('#ranked-table table[data-state="final"]')).to_have_count(0)
    page.close()


def test_pasted_answers_are_shown_in_the_scorers_order(page, hf_scorer):
    page.fill("#query textarea", ZH_QUERY)
    page.fill("#pasted textarea", "\n".join(ZH_CANDIDATES))
    page.click("#rank-pasted")
    expected = [d.text for d in hf_scorer.rank(ZH_QUERY, ZH_CANDIDATES)]
    assert ranked_answers(page) == expected
    assert page.input_value("#best-answer textarea") == expected[0]


def faq_ids(page) -> list[str]:
    """The FAQ id of each row (the cell's first text; the stage ranks follow it)."""
    return page.locator("#ranked-table td.faq-id").evaluate_all(
        "cells => cells.map(c => c.firstChild.textContent)"
    )


def search_the_english_base(page) -> None:
    """Ask EN_QUERY of the bundled English base, as an agent does: FAQ tab, base, Search and rank."""
    page.fill("#query textarea", EN_QUERY)
    page.get_by_role("tab", name="FAQ base").click()
    page.click("#base input")
    page.get_by_role("option", name=EN_BASE).click()
    page.get_by_text("117 FAQ rows").wait_for()
    page.click("#rank-faq")


def test_faq_base_results_are_shown_in_the_scorers_order(page, hf_scorer):
    search_the_english_base(page)
    kb = Desk(None, "unused", export_dir=export_dir(), bases=bundled_bases()).select_base(EN_BASE).kb
    recalled = [hit.entry for hit in search_base(kb, EN_QUERY, top_k=20)]
    ranked = hf_scorer.rank(EN_QUERY, [e.text for e in recalled])
    assert ranked_answers(page) == [d.text for d in ranked]
    assert faq_ids(page) == [recalled[d.index].id for d in ranked]
    ranks = page.locator("#ranked-table td.faq-id .stage-ranks").all_inner_texts()
    assert ranks == [f"kw #{d.index + 1}" for d in ranked]  # under each id: where keyword search put it


LONG_ANSWER = " ".join(
    [f"Store note {n}: the shop in district {n} opens at nine and closes at six." for n in range(30)]
    + ["Refunds reach the original payment method within 5-7 business days."]
    + [f"Parking note {n}: level {n} of the garage is free for two hours." for n in range(30)]
)


@pytest.fixture(scope="module")
def windowed_app_url(hf_scorer, launch_desk):
    """An app whose windows are 256 tokens, so a few paragraphs make a long answer."""
    windowed = replace(hf_scorer, encoder=PromptEncoder(hf_scorer.encoder.tokenizer, 256), cache=ScoreCache())
    return launch_desk(Desk(windowed, export_dir=export_dir(), bases=bundled_bases())), windowed


def test_a_long_answer_shows_the_passage_that_earned_its_score(browser, windowed_app_url):
    url, scorer = windowed_app_url
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.fill("#query textarea", "How long do refunds take?")
    page.fill("#pasted textarea", "\n".join(["Refunds take 5-7 business days.", LONG_ANSWER]))
    page.click("#rank-pasted")
    page.wait_for_selector('#ranked-table table.rank-table[data-state="final"]')
    [ranked] = [d for d in scorer.rank("How long do refunds take?", [LONG_ANSWER]) if d.chunks_scored > 1]
    row = page.locator("#ranked-table tbody tr", has=page.locator("mark.evidence"))
    assert row.count() == 1
    assert row.locator("mark.evidence").inner_text() == ranked.evidence_text
    assert row.locator(".answer").inner_text() == LONG_ANSWER  # the whole answer, the passage marked in it
    assert f"scored in {ranked.chunks_scored} windows" in row.locator(".evidence-note").inner_text()
    background = row.locator("mark.evidence").evaluate("m => getComputedStyle(m).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    page.close()


def test_markup_in_candidates_is_shown_as_text_and_never_runs(page):
    page.fill("#query textarea", "Where is my order?")
    page.fill("#pasted textarea", "\n".join(EVIL))
    page.click("#rank-pasted")
    assert sorted(ranked_answers(page)) == sorted(EVIL)
    assert page.locator("#ranked-table img, #ranked-table script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_markup_in_uploaded_csv_cells_is_shown_as_text_and_never_runs(page, tmp_path):
    upload = tmp_path / "evil_faq.csv"
    upload.write_text(
        "id,question,answer,category\n"
        '"<img src=x onerror=""window.__xss = 1"">","How long does shipping take? <script>window.__xss = 1</script>",'
        '"<svg onload=""window.__xss = 1""> 3-5 days","<b>VIP</b>"\n',
        encoding="utf-8",
    )
    page.fill("#query textarea", "how long does shipping take")
    page.get_by_role("tab", name="FAQ base").click()
    page.set_input_files("#upload input[type=file]", str(upload))
    page.get_by_text("evil_faq.csv: 1 FAQ rows read.").wait_for()
    page.click("#rank-faq")
    assert ranked_answers(page) == ['<svg onload="window.__xss = 1"> 3-5 days']
    assert faq_ids(page) == ['<img src=x onerror="window.__xss = 1">']
    assert page.inner_text("#ranked-table td.faq-id .category") == "<b>VIP</b>"
    assert page.locator("#ranked-table :is(img, script, svg, b)").count() == 0
    assert page.evaluate("window.__xss") is None


def test_raising_the_threshold_turns_the_banner_into_a_hand_off(page):
    page.fill("#query textarea", ZH_QUERY)
    page.fill("#pasted textarea", "\n".join(ZH_CANDIDATES))
    page.click("#rank-pasted")
    ranked_answers(page)
    banner = page.locator("#banner")
    set_threshold(page, "1", lambda: expect(banner).to_contain_text("No confident answer", timeout=5_000))
    assert "human agent" in banner.inner_text()


def test_clicking_an_example_fills_in_question_preset_and_answers(page):
    page.click("#examples > button")
    page.locator("#examples").get_by_text("I was charged twice for the same order").first.click()
    page.wait_for_function("document.querySelector('#pasted textarea').value.includes('authorisation')")
    assert page.input_value("#query textarea") == "I was charged twice for the same order"
    page.click("#settings > button")
    assert page.input_value("#preset input") == t("preset_finance", "en")
