"""Issue 19 in a real browser, at 1400×1000 and on a 390×844 phone, in English and in Chinese: the
base an agent starts on, a truthful screen after New ticket and Stop, a pick you can see, one
threshold story, no operator text in the agent's way, and results that fit the screen."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from conftest import GatedBackend
from playwright.sync_api import expect

from reranker.desk.desk import Desk
from reranker.engine.scorer import ScoreCache
from reranker.feedback.picks import Picks
from reranker.i18n import Lang, t
from reranker.knowledge.bases import bundled_bases
from reranker.retrieval.slot import DenseSlot
from reranker.store import Store, open_store
from reranker.ui import export_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZH_BASE, EN_BASE = list(bundled_bases())
DESKTOP, PHONE = (1400, 1000), (390, 844)
SETUPS = [("en-US", DESKTOP), ("zh-CN", DESKTOP), ("en-US", PHONE), ("zh-CN", PHONE)]
IDS = [f"{locale}-{w}x{h}" for locale, (w, h) in SETUPS]
FINAL = '#ranked-table table.rank-table[data-state="final"]'
QUESTIONS = {"en": "how many days till my order gets here", "zh": "订单一直显示待发货怎么办？"}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return open_store(tmp_path_factory.mktemp("picks"), bcrypt_rounds=4)


@pytest.fixture(scope="module")
def desk_url(hf_scorer, store, launch_desk):
    desk = Desk(hf_scorer, export_dir=export_dir(), bases=bundled_bases())
    return launch_desk(desk, Picks(store, desk.bases))


class Agent:
    """A browser tab at the desk in one language and one screen size."""

    def __init__(self, page, lang: Lang, size: tuple[int, int]) -> None:
        self.page, self.lang, self.size = page, lang, size

    @property
    def base(self) -> str:
        """The bundled base in the agent's language."""
        return EN_BASE if self.lang == "en" else ZH_BASE

    @property
    def other_base(self) -> str:
        return ZH_BASE if self.lang == "en" else EN_BASE

    def text(self, key: str, **params: object) -> str:
        return t(key, self.lang, **params)

    def tab(self, key: str):
        return self.page.get_by_role("tab", name=self.text(key), exact=True)

    def choose(self, dropdown: str, option: str) -> None:
        """Pick ``option`` in a dropdown, from the keyboard (its list may open outside a small screen)."""
        field = self.page.locator(f"{dropdown} input")
        field.click()
        field.fill(option)
        self.page.get_by_role("option", name=option).wait_for()
        field.press("Enter")
        expect(field).to_have_value(option)

    def search(self, question: str | None = None, base: str | None = None) -> None:
        """Search a bundled base (the agent's own by default) and wait for the final ranking."""
        self.tab("tab_faq").click()
        expect(self.page.locator("#base input")).to_have_value(self.base)
        if base is not None:
            self.choose("#base", base)
        self.page.fill("#query textarea", question or QUESTIONS[self.lang])
        self.page.click("#rank-faq")
        self.page.wait_for_selector(FINAL)

    def remembering(self, action) -> None:
        """Do ``action`` and wait until the browser has stored the settings it changed (gr.BrowserState
        keeps them encrypted in localStorage, written as each event answers)."""
        stored = "() => localStorage.getItem('faq-rerank-desk-settings')"
        before = self.page.evaluate(stored)
        action()
        self.page.wait_for_function(f"before => ({stored})() !== before", arg=before)

    def in_view(self, locator) -> bool:
        box = locator.bounding_box()
        width, height = self.size
        return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] >= 0 \
            and box["x"] + box["width"] <= width  # fmt: skip


def open_agent(browser, url: str, locale: str, size: tuple[int, int]):
    width, height = size
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#ranked-table .desk-placeholder")  # the page's texts are in
    return context, Agent(page, "zh" if locale.startswith("zh") else "en", size)


@pytest.fixture(params=SETUPS, ids=IDS)
def agent(request, browser, desk_url):
    context, agent = open_agent(browser, desk_url, *request.param)
    yield agent
    context.close()


# 1. The right base from the start, remembered; a hint when the question is in the other language


def test_a_new_browser_opens_every_tab_on_the_base_in_its_language(agent):
    agent.tab("tab_faq").click()
    expect(agent.page.locator("#base input")).to_have_value(agent.base)
    expect(agent.page.locator("#base-info")).to_contain_text(agent.base)
    agent.tab("tab_evaluate").click()
    expect(agent.page.locator("#eval-base input")).to_have_value(agent.base)
    agent.tab("tab_batch").click()
    expect(agent.page.locator("#batch-base input")).to_have_value(agent.base)


def test_the_chosen_tab_and_base_are_remembered_in_this_browser(agent):
    agent.tab("tab_faq").click()
    expect(agent.page.locator("#base input")).to_have_value(agent.base)
    agent.remembering(lambda: agent.choose("#base", agent.other_base))
    agent.remembering(lambda: agent.tab("tab_batch").click())
    agent.remembering(lambda: agent.choose("#batch-base", agent.other_base))
    agent.page.reload()
    expect(agent.page.locator("#batch-base input")).to_have_value(agent.other_base)
    agent.tab("tab_rerank").click()
    expect(agent.tab("tab_faq")).to_have_attribute("aria-selected", "true")
    expect(agent.page.locator("#base input")).to_have_value(agent.other_base)


def test_a_question_in_the_other_language_gets_a_hint_to_switch_base(agent):
    other_language = "zh" if agent.lang == "en" else "en"
    agent.search(QUESTIONS[other_language])
    hint = agent.page.locator("#banner .script-hint")
    expect(hint).to_contain_text(agent.other_base)
    expect(hint).to_contain_text(agent.text(f"language_{other_language}"))
    agent.search()  # a question in the base's language: no hint
    expect(hint).to_have_count(0)


# 2. New ticket and Stop leave a truthful screen


def test_new_ticket_clears_the_pick_its_undo_and_the_out_of_date_mark(agent):
    agent.search()
    agent.page.locator("#ranked-table tbody tr").nth(1).locator("button.pick:not(.pick-none)").click()
    expect(agent.page.locator("#pick-status")).to_contain_text(agent.text("saved_answers", chosen="")[:3])
    agent.page.type("#query textarea", " ?")
    expect(agent.page.locator("#results.stale")).to_have_count(1)
    agent.page.keyboard.press("Alt+n")
    expect(agent.page.locator("#ranked-table .desk-placeholder")).to_have_count(1)
    expect(agent.page.locator("#results.stale")).to_have_count(0)
    expect(agent.page.locator("#stale-note")).to_be_hidden()
    expect(agent.page.locator("#pick-status")).not_to_contain_text(agent.text("saved_answers", chosen="")[:3])
    expect(agent.page.locator("#pick-undo")).to_be_hidden()


@pytest.fixture
def gated_agent(request, browser, hf_scorer, launch_desk):
    """An agent at a desk whose engine scores only the batches the test allows."""
    gated = GatedBackend(hf_scorer.backend)
    desk = Desk(replace(hf_scorer, backend=gated, cache=ScoreCache()), export_dir=export_dir(),
                bases=bundled_bases())  # fmt: skip
    context, agent = open_agent(browser, launch_desk(desk), *request.param)
    yield agent, gated
    gated.open()
    context.close()


@pytest.mark.parametrize("gated_agent", SETUPS, ids=IDS, indirect=True)
def test_stop_keeps_what_was_scored_in_order_and_says_so(gated_agent, small_batches):
    agent, gated = gated_agent
    answers = [f"Answer {n}: your parcel ships in {n % 7 + 1} days." for n in range(40)]
    agent.page.fill("#query textarea", "When does my parcel ship?")
    agent.page.fill("#pasted textarea", "\n".join(answers))
    agent.page.click("#rank-pasted")
    gated.allow(1)  # the first batch (2 answers) is scored
    gated.wait_for_calls(2)  # the second is being scored, and held there
    expect(agent.page.locator("#ranked-table .score-pill")).to_have_count(2)
    agent.page.click("#stop")
    gated.allow(1)  # the held batch ends (4 more answers); the ranking stops after it
    stopped = agent.page.locator('#ranked-table table[data-state="stopped"]')
    expect(stopped).to_have_count(1)
    expect(agent.page.locator("#status")).to_contain_text(agent.text("stopped_scored", scored=6, total=40))
    expect(agent.page.locator("#banner")).to_contain_text(agent.text("stopped_scored", scored=6, total=40))
    rows = stopped.locator("tbody tr")
    expect(rows).to_have_count(6)
    scores = [float(s) for s in rows.locator(".score-pill").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    assert agent.page.input_value("#best-answer textarea") == rows.first.locator(".answer").inner_text()
    expect(agent.page.locator("#results.stale")).to_have_count(0)
    assert gated.calls == 2  # nothing more was scored
    agent.page.click("#stop")  # Stop with nothing running does nothing
    expect(agent.page.locator("#status")).to_contain_text(agent.text("stopped_scored", scored=6, total=40))
    expect(stopped).to_have_count(1)


# 3. A pick shows where the agent is looking


def test_the_clicked_answers_it_turns_into_saved_undo_and_undoes_when_clicked_again(agent, store):
    agent.search()
    row = agent.page.locator("#ranked-table tbody tr").nth(1)
    faq_id = row.get_attribute("data-faq-id")
    picked = lambda: sum(record.chosen_id == faq_id for record in store.records())  # noqa: E731
    before = picked()
    row.locator("button.pick:not(.card-only)").click()
    saved = row.locator("button.pick.saved")
    expect(saved).to_have_text(agent.text("pick_saved_undo"))
    assert agent.in_view(saved)  # the confirmation is where the agent clicked
    assert picked() == before + 1
    expect(agent.page.locator("#ranked-table button.pick.saved")).to_have_count(1)
    saved.click()  # "✓ Saved · Undo" undoes it
    expect(row.locator("button.pick:not(.card-only)")).to_have_text(agent.text("pick_answers"))
    expect(agent.page.locator("#ranked-table button.pick.saved")).to_have_count(0)
    expect(agent.page.locator("#pick-status")).to_contain_text(agent.text("undone"))
    assert picked() == before


def test_none_of_these_sits_above_the_table_and_in_each_card_on_a_phone(agent):
    agent.search()
    bar = agent.page.locator("#ranked-table .pick-bar button")
    table = agent.page.locator("#ranked-table table")
    assert bar.bounding_box()["y"] < table.bounding_box()["y"]
    expect(bar).to_have_text(agent.text("pick_none"))
    cards = agent.page.locator("#ranked-table tbody tr button.card-only")
    if agent.size == PHONE:
        for n in range(cards.count()):
            expect(cards.nth(n)).to_be_visible()
        cards.nth(3).click()
        expect(bar).to_have_text(agent.text("pick_saved_undo"))
    else:
        expect(cards.first).to_be_hidden()
        bar.click()
        expect(bar).to_have_text(agent.text("pick_saved_undo"))
    expect(agent.page.locator("#pick-status")).to_contain_text(agent.text("saved_none"))


# 4. One threshold story


def open_settings(agent) -> None:
    agent.page.locator("#settings > button").click()
    agent.page.locator("#threshold input[type=number]").wait_for()


def test_the_slider_shows_the_threshold_the_ranking_uses_and_where_it_comes_from(agent, store):
    store.set_threshold(agent.base, 0.84)
    try:
        agent.page.reload()
        open_settings(agent)
        number = agent.page.locator("#threshold input[type=number]")
        expect(number).to_have_value("0.5")  # the paste tab: the agent's own
        expect(agent.page.locator("#threshold")).to_contain_text(agent.text("threshold_from_agent"))
        agent.search()
        expect(number).to_have_value("0.84")
        expect(number).to_be_disabled()
        expect(agent.page.locator("#threshold")).to_contain_text(
            agent.text("threshold_from_base", base=agent.base, threshold=0.84)
        )
        expect(agent.page.locator("#banner")).to_contain_text("0.84")  # the ranking used what it shows
        agent.choose("#base", agent.other_base)  # no stored threshold: the agent's own again
        expect(number).to_have_value("0.5")
        expect(number).to_be_enabled()
    finally:
        store.set_threshold(agent.base, None)


@pytest.mark.parametrize("agent", [SETUPS[0], SETUPS[3]], ids=[IDS[0], IDS[3]], indirect=True)
def test_a_lead_confirms_before_storing_and_can_remove_it(agent, store):
    agent.tab("tab_evaluate").click()
    expect(agent.page.locator("#eval-base input")).to_have_value(agent.base)
    expect(agent.page.locator("#threshold-current")).to_contain_text(
        agent.text("goal_current_none", base=agent.base)
    )
    apply = agent.page.locator("#threshold-apply")
    expect(apply).to_be_disabled()  # nothing recommended yet
    agent.page.click("#eval-run")
    expect(agent.page.locator("#threshold-recommendation")).not_to_contain_text(
        agent.text("goal_not_yet")[:20], timeout=120_000
    )
    for slider, value in (("#goal-caught", "100"), ("#goal-escalated", "0")):  # a goal nothing meets
        agent.page.fill(f"{slider} input[type=number]", value)
        agent.page.press(f"{slider} input[type=number]", "Enter")
    expect(agent.page.locator("#threshold-recommendation")).to_contain_text(agent.text("calib_not_met", goal="",
                                                                                      threshold=0, effect="")[:8])  # fmt: skip
    expect(apply).to_be_disabled()
    for slider, value in (("#goal-caught", "0"), ("#goal-escalated", "100")):  # a goal any threshold meets
        agent.page.fill(f"{slider} input[type=number]", value)
        agent.page.press(f"{slider} input[type=number]", "Enter")
    expect(apply).to_be_enabled()
    apply.click()
    expect(agent.page.locator("#threshold-confirm-text")).to_contain_text(agent.base)
    assert store.threshold(agent.base) is None  # nothing stored before the confirmation
    agent.page.click("#threshold-confirm")
    expect(agent.page.locator("#threshold-message .desk-ok")).to_have_count(1)
    assert store.threshold(agent.base) is not None
    expect(agent.page.locator("#threshold-current")).to_contain_text(f"{store.threshold(agent.base):.2f}")
    agent.page.click("#threshold-remove")
    expect(agent.page.locator("#threshold-current")).to_contain_text(
        agent.text("goal_current_none", base=agent.base)
    )
    assert store.threshold(agent.base) is None


# 7. Results that fit the screen


def test_at_least_three_faq_results_show_without_scrolling_and_long_answers_fold(agent):
    agent.search()
    rows = agent.page.locator("#ranked-table tbody tr")
    if agent.size == DESKTOP:
        agent.page.evaluate("window.scrollTo(0, 0)")
        box = agent.page.locator("#ranked-table").bounding_box()  # the table scrolls inside this box
        bottom = min(agent.size[1], box["y"] + box["height"])
        visible = sum(
            agent.in_view(rows.nth(n)) and rows.nth(n).bounding_box()["y"] + rows.nth(n).bounding_box()["height"] <= bottom
            for n in range(min(rows.count(), 6))
        )  # fmt: skip
        assert visible >= 3, f"{visible} results in view"
        answer = rows.first.locator("td.text").bounding_box()["width"]
        table = agent.page.locator("#ranked-table table").bounding_box()["width"]
        assert answer >= 0.45 * table  # the answer column gets the room
    else:  # the page scrolled to the first result; nothing is wider than the screen
        expect(rows.first).to_be_in_viewport()
        assert agent.page.evaluate("document.documentElement.scrollWidth") <= agent.size[0]


LONG_NAME = "customer_questions_from_the_march_2026_export_v2.csv"
#: Whether every line of an element's text lies inside the element (none is cut off with "…" or hidden).
TEXT_INSIDE = """e => {
  const range = document.createRange();
  range.selectNodeContents(e);
  const box = e.getBoundingClientRect();
  return [...range.getClientRects()].every(r => r.left >= box.left - 1 && r.right <= box.right + 1
    && r.top >= box.top - 1 && r.bottom <= box.bottom + 1);
}"""


def test_the_upload_box_shows_its_drop_text_and_the_whole_file_name(agent, tmp_path):
    agent.tab("tab_faq").click()
    box = agent.page.locator("#upload")
    label, drop = box.locator("[data-testid=block-label]"), box.locator("button.upload-container")
    assert (
        label.bounding_box()["y"] + label.bounding_box()["height"] <= drop.bounding_box()["y"] + 1
    )  # not over it
    text = drop.locator("[data-testid=upload-text]")
    assert text.evaluate(
        "e => e.scrollHeight <= e.parentElement.clientHeight"
    )  # "Click to Upload" not cut off
    upload = tmp_path / LONG_NAME
    upload.write_text("question,answer\nShipping?,3-5 days\n", encoding="utf-8")
    agent.page.set_input_files("#upload input[type=file]", str(upload))
    name = box.locator(".file-preview td.filename")
    expect(name).to_be_visible(timeout=60_000)
    assert "".join(name.inner_text().split()) == LONG_NAME
    assert name.evaluate(TEXT_INSIDE), "the name is cut off"  # the whole name shows, not "customer_qu….csv"
    assert box.locator(".file-preview-holder").evaluate("e => e.scrollHeight <= e.clientHeight")
    shown, frame = name.bounding_box(), box.bounding_box()
    assert frame["y"] <= shown["y"] and shown["y"] + shown["height"] <= frame["y"] + frame["height"]


def test_long_answers_fold_with_more(agent):
    long = "Damaged on arrival? " + "Take a photo of the item and the box, then report it. " * 8
    agent.page.fill("#query textarea", "How do I return a damaged item?")
    agent.page.fill("#pasted textarea", "\n".join([long, "Gift cards cannot be returned."]))
    agent.page.click("#rank-pasted")
    agent.page.wait_for_selector(FINAL)
    row = agent.page.locator("#ranked-table tbody tr", has_text="Damaged on arrival")
    answer = row.locator(".answer")
    folded_height = answer.bounding_box()["height"]
    row.locator("button.more").click()
    expect(answer).not_to_have_class("answer folded")
    expect(row.locator("button.more")).to_have_text(agent.text("less"))
    assert answer.bounding_box()["height"] > folded_height
    assert answer.inner_text().strip() == long.strip()  # Copy takes the whole answer


def test_on_a_phone_the_search_button_is_reachable_without_scrolling_past_settings(agent):
    agent.tab("tab_faq").click()
    button = agent.page.locator("#rank-faq")
    agent.page.evaluate("window.scrollTo(0, 0)")
    settings = agent.page.locator("#settings").bounding_box()
    assert button.bounding_box()["y"] < settings["y"]  # the action comes before the settings
    if agent.size == PHONE:
        assert agent.in_view(button)


# 5. Errors: a short pop-up titled in the agent's language; a bug's traceback goes to the log


def test_an_unexpected_error_pops_up_in_chinese_and_goes_to_the_log_with_its_traceback(browser, hf_scorer,
                                                                                      launch_desk, caplog):  # fmt: skip
    desk = Desk(hf_scorer, export_dir=export_dir(), bases=bundled_bases())

    def broken(*args, **kwargs):
        raise ZeroDivisionError("secret internals")

    desk.rank_pasted_stream = broken  # a bug in the desk
    context, agent = open_agent(browser, launch_desk(desk), "zh-CN", DESKTOP)
    agent.page.fill("#query textarea", "订单怎么还没发货")
    agent.page.fill("#pasted textarea", "答案一\n答案二")
    with caplog.at_level("ERROR"):
        agent.page.click("#rank-pasted")
        toast = agent.page.locator(".toast-body")
        expect(toast.locator(".toast-title")).to_contain_text(t("error_title", "zh"))  # not Gradio's "Error"
    text = toast.inner_text()
    context.close()
    reference = re.search(r"[0-9a-f]{8}", text).group()
    assert "Error" not in text and t("err_unexpected", "zh", ref=reference) in text  # not "secret internals"
    [record] = [r for r in caplog.records if reference in r.getMessage()]
    assert record.exc_info[0] is ZeroDivisionError  # the operator gets the traceback


# 8. A 400-answer paste does not freeze the tab


def test_typing_right_after_a_400_line_paste_answers_within_a_second(agent):
    answers = "\n".join(
        f"Answer {n}: your parcel ships within {n % 5 + 1} days of payment." for n in range(400)
    )
    box = agent.page.locator("#pasted textarea")
    box.click()
    box.fill(answers)  # one input event with the whole text, as a paste gives
    expect(agent.page.locator("#count")).to_contain_text("400")
    start = time.monotonic()
    box.press("End")
    agent.page.keyboard.type("!")
    agent.page.wait_for_function("document.querySelector('#pasted textarea').value.endsWith('!')")
    assert time.monotonic() - start <= 1.0


# 5 and 6. No operator text in the agent's way; every sentence in a Chinese browser is Chinese

NO_MODEL = ("Model not found: '/models/qwen' is not a model directory. Run `hf download Qwen/Qwen3-Reranker-0.6B "
            "--local-dir /models/qwen` on a machine with internet, copy it over and start with --model /models/qwen.")  # fmt: skip
NO_EMBEDDER = "Embedding model not found: '/models/embed' is not a model directory."
LATIN_SENTENCE = re.compile(r"[A-Za-z]+(?:[ ,'’-]+[A-Za-z]+){2,}")
#: Paths, file names, model ids and addresses: data, in every language.
PATH_LIKE = re.compile(r"\S*[/\\_@]\S*")


@pytest.fixture(scope="module")
def no_model_url(store, launch_desk):
    """A desk started with neither the reranker nor the embedding model (both could not load)."""
    desk = Desk(None, NO_MODEL, export_dir=export_dir(), bases=bundled_bases(),
                dense=DenseSlot("hybrid", "unavailable", NO_EMBEDDER))  # fmt: skip
    return launch_desk(desk, Picks(store, desk.bases))


def latin_sentences(page) -> list[str]:
    """Lines of the page with three or more Latin words in a row (alone or inside Chinese text), outside
    data and model output
    (answers and questions, the best answer, base and file names, the model's instruction, the log's
    words for the operator). Every disclosure is read open, charts and tooltips (``title``) included,
    Gradio's own toolbar buttons too (its table's copy button says "Copy table data" until the page
    script names it in the agent's language)."""
    text = page.evaluate("""() => {
      const skip = '#ranked-table .answer, #ranked-table .faq-question, #ranked-table td.faq-id, #best-answer, '
        + '.upload-preview, #batch-table tbody, #eval-details tbody, .instruction-sent, #preset .info, '
        + '.operator-fix, #examples, input, textarea';
      const clone = document.querySelector('gradio-app').cloneNode(true);
      document.body.appendChild(clone);
      clone.style.position = 'absolute';
      for (const node of clone.querySelectorAll(skip)) node.remove();
      for (const details of clone.querySelectorAll('details')) details.open = true;
      const titles = [...clone.querySelectorAll('[title]')].map(node => node.getAttribute('title'));
      const text = clone.innerText + '\\n' + titles.join('\\n');
      clone.remove();
      return text;
    }""")
    return [line for line in map(without_names, text.splitlines()) if LATIN_SENTENCE.search(line)]


def without_names(line: str) -> str:
    """A line without the names that stay as they are in every language (bases, FAQ, CSV, keys, paths)."""
    line = line.strip()
    for name in (*bundled_bases(), "FAQ", ".csv", "BM25", "Ctrl+Enter", "Alt+N", "CSV", "recall@k"):
        line = line.replace(name, "")
    return PATH_LIKE.sub("", line).strip()


def open_disclosures(page) -> None:
    """Open the status chip's and the status line's details (the page itself, as an agent clicks them)."""
    for summary in page.locator("#status-chip summary, #status summary").all():
        if summary.is_visible():
            summary.click()


def open_evaluation_details(page, lang: Lang) -> None:
    """Open the Evaluate report's details and wait for both charts, titled in ``lang``."""
    page.locator("#eval-details > button").first.click()
    for title in ("chart_metric_and_method", "chart_out_of_scope_caught"):
        expect(page.locator("#eval-details svg text", has_text=t(title, lang))).to_have_count(1)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1400x1000", "390x844"])
def test_a_chinese_browser_sees_no_english_sentence_on_any_tab_even_without_a_model(browser, no_model_url, size,
                                                                                   tmp_path):  # fmt: skip
    context, agent = open_agent(browser, no_model_url, "zh-CN", size)
    page = agent.page
    chip = page.locator("#status-chip")
    expect(chip).to_contain_text(t("chip_engine_unavailable", "zh"))
    assert "hf download" not in chip.inner_text()  # the operator's fix is behind "details"
    assert chip.bounding_box()["height"] < 60  # one line (two at most on a phone)
    found = latin_sentences(page)
    agent.search()  # keyword search only, without a model
    open_disclosures(page)
    expect(page.locator("#status details")).to_contain_text(
        t("stage_unavailable", "zh")
    )  # the first stage's reason
    expect(chip).to_contain_text(t("chip_stage_means_unavailable", "zh"))
    expect(page.locator("#status-chip .operator-fix")).to_contain_text(
        "hf download"
    )  # details open on demand
    found += latin_sentences(page)
    broken = tmp_path / "broken.csv"
    broken.write_text("question,answer\nA?,B\nC?,D,E,F\n", encoding="utf-8")
    page.set_input_files("#upload input[type=file]", str(broken))
    expect(page.locator("#base-info .desk-error")).to_contain_text("第 3 行")
    found += latin_sentences(page)
    agent.tab("tab_evaluate").click()
    page.click("#eval-run")
    expect(page.locator("#eval-summary")).to_contain_text("评估对象", timeout=120_000)
    open_evaluation_details(page, "zh")
    expect(page.locator(f"button[title='{t('table_copy', 'zh')}']").first).to_have_attribute(
        "aria-label", t("table_copy", "zh")
    )  # Gradio's table toolbar, named by the page script
    found += latin_sentences(page)
    agent.tab("tab_batch").click()
    questions = tmp_path / "questions.csv"
    questions.write_text('question\n订单怎么还没发货\n""\n', encoding="utf-8")
    page.set_input_files("#batch-questions input[type=file]", str(questions))
    page.click("#batch-run")
    expect(page.locator("#batch-summary")).to_contain_text("问题是空的", timeout=60_000)
    found += latin_sentences(page)
    context.close()
    assert not found, found


def test_the_english_sentence_check_does_find_them_in_an_english_browser(browser, no_model_url):
    context, agent = open_agent(browser, no_model_url, "en-US", DESKTOP)
    found = latin_sentences(agent.page)
    assert t("split", "en") in found and t("split_lines", "en") in found and len(found) >= 5
    agent.search()
    open_disclosures(agent.page)  # the disclosures are read
    found = latin_sentences(agent.page)
    agent.tab("tab_evaluate").click()
    agent.page.click("#eval-run")
    open_evaluation_details(agent.page, "en")
    found += latin_sentences(agent.page)
    context.close()
    for key in (
        "chip_stage_means_unavailable",
        "stage_unavailable",
        "chart_metric_and_method",
        "chart_out_of_scope_caught",
    ):  # the chip's and the status line's details, the charts
        assert any(without_names(t(key, "en")) in line for line in found), key
