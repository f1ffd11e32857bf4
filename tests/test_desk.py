"""The desk without a browser: pasted and FAQ rankings, banners, status, degraded mode, presets."""

from __future__ import annotations

import pandas as pd
import pytest

from reranker.desk.desk import Desk, assess
from reranker.desk.results import ANSWER, FAQ_ID, KEYWORD_SCORE, SCORE
from reranker.engine.prompt import DEFAULT_INSTRUCTION
from reranker.errors import InvalidInput, ModelUnavailable
from reranker.knowledge.bases import bundled_bases, load_faq
from reranker.knowledge.presets import PRESETS, get_preset, instruction_for
from reranker.retrieval.keyword import search_base

ZH_QUERY = "订单一直显示待发货怎么办？"
ZH_CANDIDATES = [
    "您购买的商品正在打包中，通常24小时内发出。",
    "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。",
    "促销活动期间订单量激增，发货时间可能延长至48小时。",
]
EN_QUERY = "how many days till my order gets here"
ORDERS = get_preset("orders").instruction
ZH_BASE, EN_BASE = list(bundled_bases())
MISSING = "Model not found: /nowhere is not a model directory."


@pytest.fixture
def desk(hf_scorer, tmp_path):
    return Desk(hf_scorer, export_dir=tmp_path, bases=bundled_bases())


@pytest.fixture
def keyword_desk(tmp_path):
    return Desk(None, MISSING, export_dir=tmp_path, bases=bundled_bases())


def test_pasted_answers_come_back_in_the_scorers_order(desk, hf_scorer):
    result = desk.rerank_pasted(ZH_QUERY, ORDERS, "\n".join(ZH_CANDIDATES), "lines")
    expected = [d.text for d in hf_scorer.rank(ZH_QUERY, ZH_CANDIDATES, ORDERS)]
    assert result.table[ANSWER].tolist() == expected
    assert result.best_answer == expected[0]
    assert result.kind == "reranker"


def test_blank_line_mode_scores_multi_line_answers_whole(desk):
    text = "Damaged on arrival?\nReport it within 7 days.\n\nGift cards cannot be returned."
    result = desk.rerank_pasted("How do I return a damaged item?", None, text, "blank_lines")
    assert sorted(result.table[ANSWER]) == [
        "Damaged on arrival?\nReport it within 7 days.",
        "Gift cards cannot be returned.",
    ]


def test_pasted_summary_reports_what_was_removed(desk):
    text = "\n".join([ZH_CANDIDATES[0], "", ZH_CANDIDATES[0], ZH_CANDIDATES[1]])
    result = desk.rerank_pasted(ZH_QUERY, None, text, "lines")
    assert result.summary == "2 candidates (1 duplicate, 1 empty line removed)"


def test_pasted_candidates_are_capped_per_request(hf_scorer, tmp_path):
    small = Desk(hf_scorer, export_dir=tmp_path, max_candidates=2)
    result = small.rerank_pasted(ZH_QUERY, None, "\n".join(ZH_CANDIDATES), "lines")
    assert len(result.table) == 2
    assert "1 more were left out" in result.summary


def test_status_line_names_backend_model_pairs_latency_truncations_and_cache_hits(desk, hf_scorer):
    text = "\n".join(ZH_CANDIDATES)
    desk.rerank_pasted(ZH_QUERY, ORDERS, text, "lines")
    status = desk.rerank_pasted(ZH_QUERY, ORDERS, text, "lines").status
    for part in (
        hf_scorer.backend_name,
        hf_scorer.model,
        "3 pairs scored",
        "rerank ",
        "0 truncated",
        "3 cache hits",
    ):
        assert part in status


def test_banner_sends_the_question_to_a_human_below_the_threshold(desk):
    result = desk.rerank_pasted(ZH_QUERY, None, "\n".join(ZH_CANDIDATES), "lines", threshold=1.0)
    assert result.banner.kind == "warn"
    assert "No confident answer" in result.banner.text and "human agent" in result.banner.text


def test_banner_is_confident_at_or_above_the_threshold(desk):
    result = desk.rerank_pasted(ZH_QUERY, None, "\n".join(ZH_CANDIDATES), "lines", threshold=0.0)
    assert result.banner.kind == "ok"


def test_empty_question_is_refused(desk):
    with pytest.raises(InvalidInput, match="question"):
        desk.rerank_pasted("  ", None, "a\nb", "lines")


def test_no_pasted_candidates_is_refused(desk):
    with pytest.raises(InvalidInput, match="Paste at least one"):
        desk.rerank_pasted(ZH_QUERY, None, "\n \n", "lines")


def test_threshold_outside_zero_to_one_is_refused(desk):
    with pytest.raises(InvalidInput, match="threshold"):
        desk.rerank_pasted(ZH_QUERY, None, "a", "lines", threshold=1.5)


def test_csv_export_holds_the_ranked_table(desk):
    result = desk.rerank_pasted(ZH_QUERY, None, "\n".join(ZH_CANDIDATES), "lines")
    exported = pd.read_csv(result.csv_path, encoding="utf-8-sig")
    assert exported[ANSWER].tolist() == result.table[ANSWER].tolist()


def test_faq_mode_reranks_the_keyword_matches_in_the_scorers_order(desk, hf_scorer):
    base = desk.select_base(EN_BASE)
    result = desk.rerank_faq(EN_QUERY, ORDERS, base, top_k=5)
    recalled = [hit.entry for hit in search_base(base.kb, EN_QUERY, top_k=5)]
    ranked = hf_scorer.rank(EN_QUERY, [e.text for e in recalled], ORDERS)
    assert result.table[FAQ_ID].tolist() == [recalled[d.index].id for d in ranked]
    assert result.best_answer == ranked[0].text


def test_faq_mode_reports_base_size_and_both_timings(desk):
    base = desk.select_base(ZH_BASE)
    result = desk.rerank_faq(ZH_QUERY, None, base, top_k=10)
    assert f"{len(base.kb)} FAQ rows" in result.summary
    assert result.timings.recall_s is not None and result.timings.rerank_s is not None
    assert "recall " in result.status and "rerank " in result.status


def test_faq_mode_with_no_matching_words_sends_the_question_to_a_human(desk):
    result = desk.rerank_faq("xyzzy plugh", None, desk.select_base(EN_BASE))
    assert result.table.empty and result.best_answer == ""
    assert result.banner.kind == "warn" and "human agent" in result.banner.text


def test_top_k_above_the_cap_is_refused(hf_scorer, tmp_path):
    small = Desk(hf_scorer, export_dir=tmp_path, bases=bundled_bases(), max_candidates=10)
    with pytest.raises(InvalidInput, match="between 1 and 10"):
        small.rerank_faq(EN_QUERY, None, small.select_base(EN_BASE), top_k=11)


def test_uploaded_csv_is_used_instead_of_the_named_base(desk, tmp_path):
    upload = tmp_path / "my_faq.csv"
    upload.write_text(
        "问题,答案\n怎么退货？,在订单页申请退货。\n多久发货？,付款后24小时内发货。\n", encoding="utf-8"
    )
    base = desk.select_base(ZH_BASE, upload)
    assert len(base.kb) == 2 and base.label == "my_faq.csv (uploaded)"
    assert desk.select_base(ZH_BASE, upload).kb is base.kb  # parsed once, then cached


def test_a_broken_upload_is_refused_with_the_loaders_message(desk, tmp_path):
    upload = tmp_path / "notes.csv"
    upload.write_text("title_of_nothing\n\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        desk.select_base(ZH_BASE, upload)


def test_unknown_base_name_is_refused_listing_the_bases(desk):
    with pytest.raises(InvalidInput, match="English store FAQ"):
        desk.select_base("nope")


def test_degraded_faq_mode_returns_keyword_scores_labelled_as_such(keyword_desk):
    base = keyword_desk.select_base(EN_BASE)
    result = keyword_desk.rerank_faq(EN_QUERY, None, base, top_k=5)
    assert result.kind == "keyword"
    assert KEYWORD_SCORE in result.table.columns and SCORE not in result.table.columns
    assert result.table[FAQ_ID].tolist() == [h.entry.id for h in search_base(base.kb, EN_QUERY, top_k=5)]
    assert "Keyword scores (BM25) only" in result.banner.text
    assert result.status.startswith("Reranker unavailable")


def test_degraded_keyword_results_are_never_called_confident():
    assert assess(50.0, 0.5, "keyword").kind == "info"


def test_degraded_paste_mode_says_reranking_is_unavailable_and_why(keyword_desk):
    with pytest.raises(ModelUnavailable, match=r"Reranking is unavailable.*Model not found"):
        keyword_desk.rerank_pasted(ZH_QUERY, None, "a\nb", "lines")


def test_degraded_desk_explains_itself_for_the_start_up_banner(keyword_desk, desk):
    kind, text = keyword_desk.engine_notice()
    assert kind == "error" and MISSING in text
    assert desk.engine_notice() is None


def test_every_preset_has_a_distinct_english_instruction():
    instructions = [p.instruction for p in PRESETS]
    assert len(set(instructions)) == len(instructions)
    assert get_preset("general").instruction == DEFAULT_INSTRUCTION


def test_typed_instruction_overrides_the_preset():
    assert instruction_for("legal", "  Judge the refund policy  ") == "Judge the refund policy"
    assert instruction_for("legal", "   ") == get_preset("legal").instruction


def test_unknown_preset_is_refused():
    with pytest.raises(InvalidInput, match="orders"):
        instruction_for("astrology")


def test_loaded_base_matches_load_faq(desk):
    assert len(desk.select_base(ZH_BASE).kb) == len(load_faq(bundled_bases()[ZH_BASE]))
