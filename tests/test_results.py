"""The ranked table: order, columns, rounding, colours, safe HTML and CSV export."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from reranker.desk.results import (
    ANSWER,
    CATEGORY,
    FAQ_ID,
    FAQ_QUESTION,
    KEYWORD_SCORE,
    RANK,
    SCORE,
    TRUNCATED,
    build_table,
    export_csv,
    render_message,
    render_table_html,
    score_colour,
)
from reranker.knowledge.bases import FaqEntry

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="window.__xss=1">'
ZH = ["您购买的商品正在打包中，通常24小时内发出。", "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。"]
ENTRIES = [
    FaqEntry("zh-001", "订单一直显示待发货怎么办？", "通常24小时内发出。", "物流配送"),
    FaqEntry("en-004", "How do I track my order?", "Open Account > Orders.", "Order tracking"),
]


def test_rows_are_sorted_best_first_and_ranked_from_one():
    table = build_table(["low", "high", "mid"], [0.1, 0.9, 0.5])
    assert table[ANSWER].tolist() == ["high", "mid", "low"]
    assert table[RANK].tolist() == [1, 2, 3]


def test_ties_keep_the_input_order():
    table = build_table(["first", "second", "third"], [0.5, 0.7, 0.5])
    assert table[ANSWER].tolist() == ["second", "first", "third"]


def test_scores_are_rounded_to_three_decimals():
    table = build_table(ZH, [0.123456, 0.98765])
    assert table[SCORE].tolist() == [0.988, 0.123]


def test_pasted_reranker_table_columns():
    table = build_table(ZH, [0.2, 0.8], truncated=[True, False])
    assert list(table.columns) == [RANK, SCORE, ANSWER, TRUNCATED]
    assert table[TRUNCATED].tolist() == [False, True]


def test_faq_table_carries_question_id_and_category_with_each_row():
    table = build_table([e.text for e in ENTRIES], [0.3, 0.6], entries=ENTRIES)
    assert list(table.columns) == [RANK, SCORE, ANSWER, FAQ_QUESTION, FAQ_ID, CATEGORY, TRUNCATED]
    assert table.iloc[0][[FAQ_ID, FAQ_QUESTION, CATEGORY]].tolist() == [
        "en-004",
        "How do I track my order?",
        "Order tracking",
    ]


def test_keyword_scores_are_labelled_as_keyword_scores_not_reranker_scores():
    table = build_table([e.text for e in ENTRIES], [7.25, 3.5], entries=ENTRIES, kind="keyword")
    assert KEYWORD_SCORE in table.columns
    assert SCORE not in table.columns and TRUNCATED not in table.columns


def test_mismatched_lengths_are_a_programming_error():
    with pytest.raises(ValueError):
        build_table(["a", "b"], [0.5])


@pytest.mark.parametrize(("score", "colour"), [(0.0, "#f87171"), (0.5, "#fbbf24"), (1.0, "#4ade80")])
def test_colour_scale_runs_red_amber_green(score, colour):
    assert score_colour(score) == colour


def test_colour_scale_is_clamped_and_blends_between_anchors():
    assert score_colour(-0.3) == score_colour(0.0)
    assert score_colour(1.7) == score_colour(1.0)
    assert score_colour(0.25) not in {score_colour(0.0), score_colour(0.5)}


def test_a_nan_score_sorts_last():
    table = build_table(["none", "low", "high"], [float("nan"), 0.1, 0.9])

    assert table[ANSWER].tolist() == ["high", "low", "none"]


def test_html_shows_a_nan_score_as_no_score_and_never_as_best():
    rendered = render_table_html(build_table(["only"], [float("nan")]))

    assert "no score" in rendered
    assert "Best" not in rendered and "background:" not in rendered


def test_colour_of_nan_is_refused():
    with pytest.raises(ValueError):
        score_colour(float("nan"))


def test_html_escapes_script_and_img_in_every_text_cell():
    evil = FaqEntry(SCRIPT, IMG, SCRIPT, IMG)
    table = build_table([SCRIPT, IMG], [0.9, 0.1], entries=[evil, evil])
    rendered = render_table_html(table)
    assert "<script" not in rendered and "<img" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in rendered


def test_html_marks_the_best_row_and_colours_reranker_scores():
    rendered = render_table_html(build_table(ZH, [0.2, 0.8]))
    assert rendered.index('class="best"') < rendered.index(ZH[1]) < rendered.index(ZH[0])
    assert f"background:{score_colour(0.8)}" in rendered


def test_html_keyword_scores_have_no_probability_colour_scale():
    rendered = render_table_html(build_table(["a", "b"], [9.5, 2.0], kind="keyword"))
    assert "score-pill" not in rendered and "background:" not in rendered
    assert "Keyword score (BM25)" in rendered


def test_html_notes_truncated_answers():
    rendered = render_table_html(build_table(["long answer"], [0.4], truncated=[True]))
    assert "Cut to fit the model" in rendered


def test_html_of_an_empty_table_says_so():
    assert "No candidates to show." in render_table_html(build_table([], []))


def test_messages_are_escaped():
    rendered = render_message(f"Model {SCRIPT} missing", "error")
    assert "<script" not in rendered and 'role="alert"' in rendered


def test_csv_export_round_trips_chinese_text(tmp_path):
    table = build_table([e.text for e in ENTRIES], [0.3, 0.6], entries=ENTRIES)
    path = export_csv(table, tmp_path / "exports")
    assert path.parent == tmp_path / "exports"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    pd.testing.assert_frame_equal(pd.read_csv(path, encoding="utf-8-sig", dtype={FAQ_ID: str}), table)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(tmp_path, start):
    formula = f'{start}HYPERLINK("http://evil.example","Click")'
    entry = FaqEntry(f"{start}id", f"{start}question", formula, f"{start}cat")
    table = build_table([formula, "Ships in 24h"], [0.9, 0.2], entries=[entry, ENTRIES[0]])

    exported = pd.read_csv(
        export_csv(table, tmp_path), encoding="utf-8-sig", dtype=str, keep_default_na=False
    )

    first = exported.iloc[0]
    assert first[ANSWER] == "'" + formula
    assert [first[FAQ_QUESTION], first[FAQ_ID], first[CATEGORY]] == [
        f"'{start}question",
        f"'{start}id",
        f"'{start}cat",
    ]
    assert exported.iloc[1][ANSWER] == "Ships in 24h"
    assert first[SCORE] == "0.9"


def test_csv_export_removes_old_exports_but_keeps_recent_ones(tmp_path):
    table = build_table(["a"], [0.5])
    old = export_csv(table, tmp_path)
    recent = export_csv(table, tmp_path)
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    newest = export_csv(table, tmp_path)
    assert not old.exists()
    assert recent.exists() and newest.exists()
