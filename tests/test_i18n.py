"""The zh/en catalogue and the UI's server-side texts: every key in every language, plain words."""

from __future__ import annotations

import inspect
import re
from types import SimpleNamespace

import gradio as gr
import pytest

from reranker.desk.batch import BatchRow, rows_table
from reranker.desk.desk import Desk, DeskResult, assess
from reranker.desk.results import build_table, export_csv, render_table_html
from reranker.errors import InvalidInput
from reranker.evaluation.evaluate import EvaluationReport, QueryResult
from reranker.i18n import LANGUAGES, MESSAGES, language_of, t
from reranker.knowledge.bases import FaqEntry, bundled_bases
from reranker.knowledge.presets import PRESETS
from reranker.knowledge.registry import UploadCheck
from reranker.retrieval.first_stage import FirstStage
from reranker.retrieval.slot import DenseSlot
from reranker.ui import handlers
from reranker.ui.batch_tab import localized
from reranker.ui.evaluate_tab import chart_axes, chart_titled, metric_bars, tradeoff

PLACEHOLDERS = re.compile(r"\{(\w+)")
LATIN_SENTENCE = re.compile(r"[A-Za-z]+(?:[ ,'’-]+[A-Za-z]+){2,}")
PATH_LIKE = re.compile(r"\S*[/\\_@]\S*")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
#: Keys whose Chinese text is punctuation only (the list separator "、").
PUNCTUATION_ONLY = {"list_sep"}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_has_every_language_with_the_same_placeholders(key):
    texts = MESSAGES[key]
    assert set(texts) == set(LANGUAGES) and all(text.strip() for text in texts.values())
    assert len({frozenset(PLACEHOLDERS.findall(text)) for text in texts.values()}) == 1


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_chinese_message_is_chinese_not_a_copy_of_the_english(key):
    english, chinese = MESSAGES[key]["en"], MESSAGES[key]["zh"]
    assert chinese != english
    assert key in PUNCTUATION_ONLY or CHINESE.search(chinese), chinese


def test_every_preset_has_a_plain_name_in_both_languages():
    assert all(f"preset_{preset.key}" in MESSAGES for preset in PRESETS)


@pytest.mark.parametrize(
    ("header", "lang"),
    [("zh-CN,zh;q=0.9", "zh"), ("zh-TW", "zh"), ("en-US,en", "en"), ("fr", "en"), ("", "en")],
)
def test_the_browsers_first_language_picks_ours(header, lang):
    assert language_of(header) == lang
    assert handlers.lang_of(SimpleNamespace(headers={"accept-language": header})) == lang


def test_a_chinese_table_and_csv_have_chinese_headers_and_buttons(tmp_path):
    table = build_table(["a", "b"], [0.2, 0.9])
    html = render_table_html(table, lang="zh")
    assert '<th class="text">答案</th>' in html and ">复制</button>" in html and ">最佳</span>" in html
    header = export_csv(table, tmp_path, lang="zh").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == "名次,分数,答案,已截断"


def test_below_the_threshold_the_banner_and_best_box_say_not_confident():
    banner = assess(0.3, 0.5, "reranker", "zh")
    assert not banner.confident and "0.300" in banner.text and "人工" in banner.text
    assert handlers.best_box("x", banner.confident, "en").label == t("best_unsure", "en")
    assert assess(0.8, 0.5, "reranker").confident


def test_results_are_headed_with_question_base_and_instruction_as_sent():
    heading = handlers.heading(" Where is my order? ", "English store FAQ", "orders", "", "en")
    assert "For: Where is my order? · English store FAQ · Orders &amp; shipping" in heading
    assert "instruction sent to the model: Given a customer&#x27;s question about an order" in heading
    custom = handlers.heading("q", "b", "orders", "Judge it", "zh")
    assert "自定义指令" in custom and "发送给模型的指令: Judge it" in custom


def test_the_status_line_is_plain_and_the_engine_details_fold_away(hf_scorer, tmp_path):
    desk = Desk(hf_scorer, export_dir=tmp_path)
    result: DeskResult = desk.rerank_pasted("Where is my order?", None, "a\nb\nc", "lines")
    status = handlers.status_html(result)
    assert re.search(r"^<div[^>]*>3 answers checked in \d+\.\d\d s<details>", status)
    assert "transformers" in status.split("<details>")[1]


def test_an_upload_with_fewer_rows_than_lines_is_flagged(tmp_path):
    upload = tmp_path / "faq.csv"
    upload.write_text('question,answer\nA?,"x\nB?,y\nC?,z"\n', encoding="utf-8")
    check = Desk(None, "no model", export_dir=tmp_path, bases=bundled_bases()).check_upload(upload)
    assert (check.rows, check.lines, check.suspicious) == (1, 3, True)
    assert "3 lines after the header but 1 rows were read" in check.describe("en")
    entries = [FaqEntry(id=str(n), question=f"Q{n}", answer=f"A{n}") for n in range(2)]
    assert not UploadCheck("ok.csv", entries, 2, 2).suspicious


def test_a_missing_question_is_said_in_the_browsers_language(tmp_path):
    desk = Desk(None, "no model", export_dir=tmp_path, bases=bundled_bases())
    base = desk.select_base(next(iter(bundled_bases())))
    with pytest.raises(InvalidInput, match="type the customer's question first") as raised:
        next(desk.rank_faq_stream("  ", None, base, lang="zh"))
    assert raised.value.message("zh") == "问题为空：请先输入客户的问题。"


def test_errors_keep_their_english_text_and_carry_an_id_for_the_ui():
    error = InvalidInput.of("err_threshold", threshold=1.5)
    assert str(error) == "The threshold must be between 0 and 1, got 1.5."
    assert error.message("zh") == "阈值必须在 0 到 1 之间，收到的是 1.5。"
    assert InvalidInput("plain English").message("zh") == "plain English"


def test_an_error_popup_is_in_the_browsers_language():
    @handlers.user_errors
    def fails(request):
        raise InvalidInput.of("no_question")

    with pytest.raises(gr.Error, match="请先输入客户的问题") as raised:
        fails(gr.Request(headers={"accept-language": "zh-CN"}))
    assert raised.value.title == "暂时无法完成"


def test_a_user_error_logs_one_line_and_no_traceback(caplog):
    @handlers.user_errors
    def fails(request):
        raise InvalidInput.of("no_question")

    with caplog.at_level("INFO"), pytest.raises(gr.Error) as raised:
        fails(gr.Request(headers={"accept-language": "en-US"}))
    assert raised.value.print_exception is False  # Gradio's queue then prints no traceback
    [record] = [r for r in caplog.records if "question is empty" in r.getMessage()]
    assert record.exc_info is None and "\n" not in record.getMessage()


@pytest.mark.parametrize("stream", [False, True], ids=["handler", "streaming handler"])
def test_an_unexpected_error_is_a_short_popup_in_the_browsers_language_and_a_traceback_in_the_log(
    caplog, stream
):
    def fails(request):
        raise ZeroDivisionError("secret internals")

    def streams(request):
        yield "first"
        raise ZeroDivisionError("secret internals")

    handler = handlers.user_errors_stream(streams) if stream else handlers.user_errors(fails)
    with caplog.at_level("ERROR"), pytest.raises(gr.Error) as raised:
        result = handler(gr.Request(headers={"accept-language": "zh-CN"}))
        list(result) if stream else None
    popup = raised.value
    assert popup.title == t("error_title", "zh") and popup.print_exception is False  # as a user error's
    reference = re.search(r"[0-9a-f]{8}", popup.message).group()
    assert popup.message == t("err_unexpected", "zh", ref=reference)  # not "secret internals"
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert reference in record.getMessage() and record.exc_info[0] is ZeroDivisionError


def test_every_bound_handler_shows_its_errors_in_the_browsers_language(tmp_path):
    def broken(desk: Desk, text: str, request: gr.Request) -> str:
        raise KeyError(text)

    bound = handlers.bind(broken, Desk(None, "no model", export_dir=tmp_path))
    with pytest.raises(gr.Error) as raised:
        bound("x", gr.Request(headers={"accept-language": "zh-CN"}))
    assert raised.value.message.startswith(t("err_unexpected", "zh", ref="")[:8])
    assert list(inspect.signature(bound).parameters) == ["text", "request"]  # Gradio still finds the request


def chinese_desk(scorer, tmp_path) -> Desk:
    """A desk whose embedding model could not load (keyword search, and the chip says so)."""
    return Desk(scorer, None if scorer else "Model not found.", export_dir=tmp_path, bases=bundled_bases(),
                dense=DenseSlot("hybrid", "unavailable", "Embedding model not found: /models/embed."))  # fmt: skip


def test_the_status_details_name_the_first_stage_its_reason_and_the_engine_in_chinese(hf_scorer, tmp_path):
    desk = chinese_desk(hf_scorer, tmp_path)
    zh_base, en_base = (desk.select_base(name) for name in bundled_bases())
    result = list(desk.rank_faq_stream("订单怎么还没发货", None, zh_base, lang="zh"))[-1]
    details = handlers.status_html(result).split("<details>")[1]
    assert "关键词（BM25）检索从中选出" in details and t("stage_unavailable", "zh") in details
    assert t("engine_threads", "zh", n=hf_scorer.backend.threads) in details
    assert not LATIN_SENTENCE.search(PATH_LIKE.sub("", details)), details  # the model's path is data
    english = list(desk.rank_faq_stream("where is my order", None, en_base))[-1]
    assert "Keyword (BM25) search picked" in english.summary and "threads" in english.status


def test_keyword_scores_explain_themselves_in_the_browsers_language():
    html = render_table_html(build_table(["a", "b"], [2.5, 1.0], kind="keyword"), lang="zh")
    assert 'title="关键词（BM25）分数：按共同词语计算，不是概率"' in html


def test_the_status_chip_says_what_the_first_stage_means_and_quotes_the_log_for_the_operator(tmp_path):
    chip = handlers.status_chip(chinese_desk(None, tmp_path), "zh")
    details = chip.split('<div class="operator-fix"')[0]
    assert t("chip_stage_means_unavailable", "zh") in details and t("chip_operator_log", "zh") in details
    assert not LATIN_SENTENCE.search(details.split("<details")[1])
    assert "Fix --embedding-model" in chip  # the operator's fix, as the log says it


def test_first_stage_reasons_keep_their_english_and_say_it_in_chinese():
    stage = FirstStage.of("keyword", None, "stage_loading", seconds="12")
    assert stage.reason == "keyword search while the embedding model loads (12 s so far)"
    assert stage.reason_in("zh") == "向量模型加载期间使用关键词检索（已 12 秒）"
    assert (
        FirstStage("keyword", None, "as the operator wrote it").reason_in("zh") == "as the operator wrote it"
    )


def test_the_charts_are_titled_in_the_browsers_language():
    report = EvaluationReport("rerank", 2, (QueryResult("q", ("a",), ("a",), 0.9),
                                            QueryResult("r", (), ("a",), 0.2)), total=2)  # fmt: skip
    bars = chart_titled(metric_bars([report], "zh"), "zh")
    bar_chart, curve_chart = chart_axes("zh")
    assert {bar_chart.x, bar_chart.y, bar_chart.color} <= set(bars.columns)
    assert bar_chart.x == "指标与方法" and set(bars["指标与方法"]) <= set(bar_chart.sort)
    assert "mrr@10 重排" in set(bars["指标与方法"])
    curve = chart_titled(tradeoff([report], "zh"), "zh")
    assert {curve_chart.x, curve_chart.y, *curve_chart.tooltip} <= set(curve.columns)
    assert curve_chart.y == "无法回答问题被转人工（%）"


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "is 6.0 MB; the limit is 5.0 MB"), ("zh", "上限是 5.0 MB")]
)
def test_an_oversized_upload_says_why_and_what_is_still_in_use(tmp_path, lang, words):
    desk = Desk(
        None, "no model", export_dir=tmp_path, bases=bundled_bases(), max_upload_bytes=5 * 1024 * 1024
    )
    request = gr.Request(headers={"accept-language": "zh-CN" if lang == "zh" else "en-US"})
    event = SimpleNamespace(name="big.csv", size=6 * 1024 * 1024)
    info, source = handlers.upload_too_large(desk, "English store FAQ", request, event)
    assert source == "bundled" and words in info and "big.csv" in info
    assert t("upload_rejected", lang, reason="", fallback="English store FAQ").split("{")[0][:6] in info


def test_the_batch_table_is_in_chinese_for_a_chinese_browser_and_as_the_cli_writes_it_in_english():
    rows = [BatchRow(1, "q", "en-1", "Q?", "A.", 0.9, "confident"), BatchRow(2, "r")]
    chinese = localized(rows, "zh")
    assert list(chinese.columns)[:2] == ["行号", "问题"] and list(chinese["结论"]) == ["可信", "转人工"]
    assert localized(rows, "en").equals(rows_table(rows))
