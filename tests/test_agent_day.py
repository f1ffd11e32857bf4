"""Issue 19, without a browser: the base an agent starts on, what a browser remembers, the hint to
switch base, and what New ticket, Stop, picks and thresholds leave on the screen."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reranker.desk.desk import Desk
from reranker.desk.language import base_language, default_base, script_of, switch_hint
from reranker.errors import InvalidInput
from reranker.feedback.picks import Picks
from reranker.knowledge.bases import bundled_bases
from reranker.knowledge.registry import BaseRegistry
from reranker.store import open_store
from reranker.ui import handlers
from reranker.ui.picks import threshold_in_use, threshold_view
from reranker.ui.threshold_panel import can_apply, confirm_question, recommend, remove_threshold, stored_note

ZH_BASE, EN_BASE = list(bundled_bases())


@pytest.fixture(scope="module")
def bases() -> BaseRegistry:
    return BaseRegistry(bundled_bases())


def test_the_bundled_bases_are_told_apart_by_language(bases):
    assert base_language(bases.named(ZH_BASE)) == "zh"
    assert base_language(bases.named(EN_BASE)) == "en"


@pytest.mark.parametrize(("lang", "expected"), [("en", EN_BASE), ("zh", ZH_BASE)])
def test_a_new_browser_starts_on_a_base_in_its_language_everywhere(bases, lang, expected):
    settings = handlers.settings_for(bases, None, lang)
    assert settings["base"] == settings["eval_base"] == settings["batch_base"] == expected
    assert (settings["main_tab"], settings["tab"]) == ("rerank", "paste")


def test_a_remembered_base_and_tab_win_over_the_language_and_unknown_ones_fall_back(bases):
    saved = {"base": ZH_BASE, "batch_base": "gone.csv", "tab": "faq", "main_tab": "nowhere", "threshold": 0.7}
    settings = handlers.settings_for(bases, saved, "en")
    assert (settings["base"], settings["batch_base"], settings["eval_base"]) == (ZH_BASE, EN_BASE, EN_BASE)
    assert (settings["tab"], settings["main_tab"], settings["threshold"]) == ("faq", "rerank", 0.7)


def test_the_knowledge_tab_is_remembered_only_where_the_page_has_it(bases):
    saved = {"main_tab": "knowledge"}
    assert handlers.settings_for(bases, saved, "en", (*handlers.MAIN_TABS, "knowledge"))["main_tab"] == "knowledge"
    assert handlers.settings_for(bases, saved, "en")["main_tab"] == "rerank"  # a desk without a team database


def test_saving_one_setting_keeps_the_others():
    saved = handlers.remember("base")({"tab": "faq"}, EN_BASE)
    saved = handlers.remember_tab("main_tab", "batch")(saved)
    saved = handlers.remember("threshold")(saved, 0.3)
    saved = handlers.save_settings(saved, 7, "orders", "")
    assert (saved["base"], saved["tab"], saved["main_tab"], saved["threshold"], saved["top_k"]) == (
        EN_BASE, "faq", "batch", 0.3, 7)  # fmt: skip


def test_default_base_is_the_first_when_none_is_in_the_language():
    assert default_base(["a", "b"], lambda name: "zh", "en") == "a"
    assert default_base([], lambda name: "en", "en") is None


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("Where is my order?", "en"),
        ("订单怎么还没发货", "zh"),
        ("订单 order 还没发货呢", "zh"),
        ("#12 ?", None),
    ],
)
def test_the_script_of_a_question(text, script):
    assert script_of(text) == script


def test_an_english_question_on_the_chinese_base_gets_a_hint_naming_the_english_base():
    others = {ZH_BASE: "zh", EN_BASE: "en"}
    hint = switch_hint("Where is my order?", ZH_BASE, "zh", others, "en")
    assert hint is not None and EN_BASE in hint and "English" in hint
    zh_hint = switch_hint("Where is my order?", ZH_BASE, "zh", others, "zh")
    assert zh_hint is not None and EN_BASE in zh_hint and "英文" in zh_hint
    assert switch_hint("订单怎么还没发货", ZH_BASE, "zh", others, "en") is None
    assert switch_hint("订单怎么还没发货", "mine.csv", "en", {"mine.csv": "en"}, "en") is not None


def stop_after(results: list, yields: int):
    """A ``should_stop`` that turns true once ``yields`` results have come out."""
    return lambda: len(results) >= yields


def test_stop_keeps_the_scored_rows_best_first_and_says_how_many(hf_scorer, tmp_path, small_batches):
    desk = Desk(hf_scorer, export_dir=tmp_path)
    answers = "\n".join(f"Stop answer {n}: parcels ship in {n} days" for n in range(20))
    results: list = []
    for result in desk.rank_pasted_stream("Where is my parcel?", None, answers, "lines",
                                          should_stop=stop_after(results, 2)):  # fmt: skip
        results.append(result)
    stopped = results[-1]
    assert stopped.state == "stopped" and 0 < stopped.scored < 20 and stopped.total == 20
    assert len(stopped.table) == stopped.scored  # only the scored rows, best first
    scores = stopped.table["Score"].tolist()
    assert scores == sorted(scores, reverse=True)
    assert stopped.best_answer == stopped.table["Answer"].iloc[0] and stopped.best_score == scores[0]
    assert stopped.banner.text.startswith(f"Stopped: {stopped.scored} of 20 scored.")
    assert stopped.checked == f"Stopped: {stopped.scored} of 20 scored."
    assert 'data-state="stopped"' in stopped.table_html and "best-badge" in stopped.table_html
    assert stopped.csv_path is not None and stopped.csv_path.exists()
    ids = [answer for answer in stopped.table["Answer"]]
    assert all(text in answers for text in ids)


def test_stop_on_an_faq_search_keeps_what_was_scored(hf_scorer, tmp_path, small_batches):
    desk = Desk(hf_scorer, export_dir=tmp_path, bases=bundled_bases())
    results: list = []
    for result in desk.rank_faq_stream("refund for a damaged parcel", None, desk.select_base(EN_BASE), 30,
                                       lang="zh", should_stop=stop_after(results, 2)):  # fmt: skip
        results.append(result)
    stopped = results[-1]
    assert stopped.state == "stopped" and 0 < stopped.scored < 30 == stopped.total
    assert len(stopped.table) == stopped.scored and stopped.table["FAQ id"].is_unique
    assert stopped.banner.text.startswith(f"已停止：已评分 {stopped.scored}/30 条。")


def test_stop_signals_stop_only_a_running_ranking_of_that_session():
    stops = handlers.StopSignals()
    assert stops.stop("s1") is False  # idle: nothing happens
    running = stops.start("s1")
    assert stops.stop("s2") is False and not running.is_set()
    assert stops.stop("s1") is True and running.is_set()
    stops.finish("s1", running)
    assert stops.stop("s1") is False


def test_new_ticket_clears_the_last_pick_and_what_it_was_for(tmp_path):
    picks = Picks(open_store(tmp_path / "data", bcrypt_rounds=4), BaseRegistry(bundled_bases()))
    request = SimpleNamespace(headers={"accept-language": "en-US"})
    values = handlers.new_ticket(picks, request)
    message, undo, record_id, shown = values[-4:]
    assert "Saved" not in message and undo.visible is False and record_id is None and shown is None
    assert values[0] == values[1] == ""


@pytest.fixture
def picks(tmp_path) -> Picks:
    return Picks(open_store(tmp_path / "data", bcrypt_rounds=4), BaseRegistry(bundled_bases()))


def test_the_slider_shows_the_stored_threshold_on_that_base_and_the_agents_own_elsewhere(picks):
    picks.set_threshold(EN_BASE, 0.84, by=picks.team.member(None))
    saved = {"threshold": 0.3, "tab": "faq"}
    stored = threshold_view(picks, saved, "bundled", EN_BASE, "en")
    assert stored.value == 0.84 and stored.interactive is False and "team lead" in stored.info
    own = threshold_view(picks, saved, "bundled", ZH_BASE, "zh")
    assert own.value == 0.3 and own.interactive is True and "你自己的阈值" in own.info
    assert threshold_view(picks, {**saved, "tab": "paste"}, "bundled", EN_BASE).value == 0.3
    assert threshold_view(picks, saved, "upload", EN_BASE).value == 0.3
    # the ranking uses what the slider shows
    assert (
        threshold_in_use(picks, EN_BASE, 0.3)[0] == 0.84 and threshold_in_use(picks, ZH_BASE, 0.3)[0] == 0.3
    )


def test_a_lead_replaces_or_removes_a_stored_threshold_after_seeing_what_it_replaces(picks):
    assert "No threshold is stored" in stored_note(picks, EN_BASE, None)
    assert "replacing" not in confirm_question(picks, EN_BASE, 0.54)
    picks.set_threshold(EN_BASE, 0.84, by=picks.team.member(None))
    assert "0.84" in stored_note(picks, EN_BASE, None)
    assert "replacing the stored 0.84" in confirm_question(picks, EN_BASE, 0.54)
    assert "Removed" in remove_threshold(picks, EN_BASE)
    assert picks.threshold_for(EN_BASE) == (0.5, False)


def test_apply_is_disabled_when_no_threshold_meets_the_goal():
    sentence, threshold = recommend(([0.9, 0.8, 0.7, 0.2], [0.1, 0.3, 0.75]), 100, 0)
    assert threshold is None and "No threshold meets the goal" in sentence
    picks = Picks(None, BaseRegistry(bundled_bases()))
    assert can_apply(picks, None, 0.5).interactive is False  # recording off


def test_the_status_chip_is_one_line_in_the_agents_language_and_the_fix_goes_behind_details(tmp_path, caplog):
    fix = "Model not found. Run `hf download Qwen/Qwen3-Reranker-0.6B --local-dir DIR` and start with --model DIR."
    desk = Desk(None, fix, export_dir=tmp_path)
    with caplog.at_level("WARNING"):
        chip = handlers.status_chip(desk, "zh")
    line, _, details = chip.partition("<details")
    assert "排序模型：未加载，仅关键词检索 · 检索：关键词" in line and "hf download" not in line
    assert "hf download" in details and "请告知管理员" in details
    assert "hf download" in caplog.text  # the operator reads it in the log
    ready = handlers.status_chip(Desk(None, fix, export_dir=tmp_path), "en")
    assert ready.startswith('<div class="status-chip chip-warn"')


def test_a_broken_csv_names_the_line_and_says_what_to_do(tmp_path):
    broken = tmp_path / "faq.csv"
    broken.write_text("question,answer\nShipping?,3-5 days\nReturn?,Yes,no,maybe\n", encoding="utf-8")
    registry = BaseRegistry({})
    with pytest.raises(InvalidInput) as raised:
        registry.check_upload(broken)
    assert raised.value.message("en") == (
        "faq.csv, line 3: 4 values where the header has 2. Put values that contain the separator in double "
        "quotes (or remove the extra ones), then upload the file again."
    )
    assert "第 3 行：有 4 个值" in raised.value.message("zh") and "tokenizing" not in str(raised.value)


def test_an_unclosed_quote_warning_names_the_line_where_it_opens(tmp_path):
    joined = tmp_path / "faq.csv"
    joined.write_text('question,answer\nOrder?,See tracking\nShipping?,"3-5 days\nReturn?,Yes\nWhere?,Here"\n',
                      encoding="utf-8")  # fmt: skip
    check = BaseRegistry({}).check_upload(joined)
    assert check.suspicious and check.quote_lines == (3, 5)
    assert "on line 3 joins lines 3-5 into one row: close it on line 3" in check.describe("en")
    assert "第 3 行的引号" in check.describe("zh")
