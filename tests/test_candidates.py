"""Pasted text -> candidate answers: split modes, clean-up counts, the per-request cap."""

from __future__ import annotations

import pytest

from reranker.errors import InvalidInput
from reranker.knowledge.candidates import parse_candidates

SEED = (
    "您购买的商品正在打包中，通常24小时内发出。\n"
    "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。\n"
    "促销活动期间订单量激增，发货时间可能延长至48小时。"
)


def test_lines_mode_gives_one_candidate_per_line():
    parsed = parse_candidates(SEED, "lines", 500)
    assert parsed.texts == SEED.split("\n")
    assert parsed.summary() == "3 candidates"


def test_lines_mode_counts_blank_lines_and_duplicates_as_in_the_summary():
    text = "Ships in 24 hours.\n\nRefunds take 5 days.\n   \nShips in 24 hours.\nReset your password."
    parsed = parse_candidates(text, "lines", 500)
    assert parsed.texts == ["Ships in 24 hours.", "Refunds take 5 days.", "Reset your password."]
    assert (parsed.duplicates_removed, parsed.empty_removed) == (1, 2)
    assert parsed.summary() == "3 candidates (1 duplicate, 2 empty lines removed)"


def test_final_newline_is_not_an_empty_line():
    assert parse_candidates("甲\n乙\n", "lines", 500).empty_removed == 0


def test_duplicates_ignore_whitespace_and_keep_the_first_copy_in_place():
    text = "退货  流程\n包邮政策\n退货 流程 \n包邮政策"
    parsed = parse_candidates(text, "lines", 500)
    assert parsed.texts == ["退货  流程", "包邮政策"]
    assert parsed.duplicates_removed == 2


def test_blank_lines_mode_keeps_multi_line_answers_whole():
    text = "Damaged on arrival?\nPhotograph it and report it within 7 days.\n\nGift cards cannot be returned."
    parsed = parse_candidates(text, "blank_lines", 500)
    assert parsed.texts == [
        "Damaged on arrival?\nPhotograph it and report it within 7 days.",
        "Gift cards cannot be returned.",
    ]


def test_blank_lines_mode_treats_runs_of_blank_and_whitespace_lines_as_one_separator():
    text = "\n\n第一条答案\n第二行\n\n \n\t\n第二条答案\r\n\r\n第三条答案\n\n"
    parsed = parse_candidates(text, "blank_lines", 500)
    assert parsed.texts == ["第一条答案\n第二行", "第二条答案", "第三条答案"]
    assert parsed.summary() == "3 candidates"


def test_windows_line_endings_split_like_unix_ones():
    assert parse_candidates("a\r\nb\r\n", "lines", 500).texts == ["a", "b"]


def test_cap_keeps_the_first_candidates_and_says_how_many_were_left_out():
    text = "\n".join(f"answer {i}" for i in range(7))
    parsed = parse_candidates(text, "lines", 5)
    assert parsed.texts == [f"answer {i}" for i in range(5)]
    assert parsed.dropped_over_cap == 2
    assert parsed.summary() == (
        "5 candidates; only the first 5 are kept (the limit per request), 2 more were left out"
    )


def test_cap_counts_unique_candidates_only():
    parsed = parse_candidates("a\na\nb\nc", "lines", 3)
    assert parsed.texts == ["a", "b", "c"]
    assert parsed.dropped_over_cap == 0


def test_empty_text_gives_no_candidates():
    parsed = parse_candidates("  \n\n", "blank_lines", 500)
    assert parsed.texts == []
    assert parsed.summary() == "0 candidates"


def test_singular_wording_for_one_of_each():
    parsed = parse_candidates("only\n\nonly", "lines", 500)
    assert parsed.summary() == "1 candidate (1 duplicate, 1 empty line removed)"


def test_unknown_mode_is_refused_with_the_allowed_ones():
    with pytest.raises(InvalidInput, match="lines, blank_lines"):
        parse_candidates("a", "commas", 500)  # type: ignore[arg-type]


def test_cap_below_one_is_refused():
    with pytest.raises(InvalidInput, match="at least 1"):
        parse_candidates("a", "lines", 0)
