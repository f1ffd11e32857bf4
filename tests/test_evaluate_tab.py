"""The Evaluate tab: its table and plot data as plain functions, and the tab served by Gradio."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from conftest import free_port
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from reranker.errors import InvalidInput
from reranker.evaluation.evaluate import EvaluationReport, QueryResult, evaluate, load_evaluation_set
from reranker.knowledge.bases import FaqEntry, KnowledgeBase, bundled_bases
from reranker.knowledge.labelled import bundled_query_sets
from reranker.ui.evaluate_tab import (
    GOT,
    IN_SCOPE_FLAGGED,
    METHOD,
    METRICS_COLUMNS,
    MISSES_COLUMNS,
    OUT_OF_SCOPE_CAUGHT,
    RIGHT_RANK,
    VALUE,
    build_evaluate_tab,
    choose_sources,
    metric_bars,
    metrics_table,
    misses_table,
    paired_query_set,
    summary,
    tradeoff,
)

ZH_BASE, EN_BASE = list(bundled_bases())
ZH_QUERIES, EN_QUERIES = list(bundled_query_sets())
KB = KnowledgeBase(
    [
        FaqEntry("a", "How do I reset my password?", "Use 'Forgot password'."),
        FaqEntry("b", "How long does shipping take?", "3-5 business days."),
    ]
)
# Two in-scope queries (one right first, one wrong first) and one out-of-scope query.
RESULTS = (
    QueryResult("forgot password", ("a",), ("a", "b"), 0.9),
    QueryResult("when will it arrive", ("b",), ("a", "b"), 0.4),
    QueryResult("do you sell bikes", (), ("b",), 0.2),
)
KEYWORD = EvaluationReport("keyword", 2, RESULTS, total=3)
RERANK = EvaluationReport("rerank", 2, RESULTS, total=3)


def rows(table: dict) -> list[dict]:
    return [dict(zip(table["headers"], row)) for row in table["data"]]


def test_each_bundled_base_is_paired_with_its_own_query_set():
    assert paired_query_set(ZH_BASE) == ZH_QUERIES
    assert paired_query_set(EN_BASE) == EN_QUERIES
    assert paired_query_set("an uploaded file") is None


def test_uploaded_files_replace_the_bundled_choices(tmp_path):
    faq, queries = tmp_path / "faq.csv", tmp_path / "queries.csv"
    assert choose_sources(EN_BASE, EN_QUERIES, str(faq), None) == (faq, bundled_query_sets()[EN_QUERIES])
    assert choose_sources(EN_BASE, EN_QUERIES, None, str(queries)) == (bundled_bases()[EN_BASE], queries)
    with pytest.raises(InvalidInput, match="labelled queries CSV"):
        choose_sources(EN_BASE, None, None, None)


def test_metrics_table_has_one_row_per_method():
    table = metrics_table([KEYWORD, RERANK])
    assert table[METHOD].tolist() == ["Keyword only (BM25)", "Keyword + rerank"]
    assert table["mrr@10"].tolist() == [0.75, 0.75]
    assert table["recall@1"].tolist() == [0.5, 0.5]
    assert table["In-scope queries"].tolist() == [2, 2]


def test_metric_bars_are_long_format_with_one_bar_per_method_and_metric():
    bars = metric_bars([KEYWORD, RERANK])
    assert len(bars) == 10
    assert bars["Bar"].is_unique
    assert bars.set_index("Bar").loc["ndcg@10 rerank", VALUE] == pytest.approx(0.815)


def test_tradeoff_is_in_percent_of_each_kind_of_query():
    curve = tradeoff([RERANK]).set_index("Threshold")
    assert curve.loc[0.25, IN_SCOPE_FLAGGED] == 0.0 and curve.loc[0.25, OUT_OF_SCOPE_CAUGHT] == 100.0
    assert curve.loc[0.5, IN_SCOPE_FLAGGED] == 50.0
    assert curve.loc[0.95, IN_SCOPE_FLAGGED] == 100.0


def test_tradeoff_is_empty_without_out_of_scope_queries():
    in_scope_only = EvaluationReport("rerank", 2, RESULTS[:2], total=2)
    assert tradeoff([in_scope_only]).empty


def test_misses_table_names_what_came_first_and_where_the_right_answer_was():
    not_found = QueryResult("bikes?", ("b",), (), None)
    report = EvaluationReport("keyword", 2, (*RESULTS, not_found), total=4)
    table = misses_table(report, KB)
    assert table[GOT].tolist() == ["a: How do I reset my password?", "nothing found"]
    assert table[RIGHT_RANK].tolist() == ["2", "not in top 2"]


def test_tables_show_their_column_headers_before_the_first_run():
    with gr.Blocks() as demo:
        build_evaluate_tab(lambda: None)

    tables = [block for block in demo.blocks.values() if isinstance(block, gr.DataFrame)]

    assert [table.value["headers"] for table in tables] == [METRICS_COLUMNS, MISSES_COLUMNS]
    assert all(table.value["data"] == [] for table in tables)


def test_summary_says_when_the_reranker_is_not_loaded():
    assert "The reranker is not loaded" in summary([KEYWORD], 2)
    text = summary([KEYWORD, RERANK], 2)
    assert "right answer first for 1 of 2" in text and "not loaded" not in text


@pytest.fixture(scope="module")
def served(hf_scorer):
    """The tab in a launched app; ``scorer["now"]`` is what ``get_scorer`` returns."""
    scorer = {"now": hf_scorer}
    with gr.Blocks() as demo, gr.Tab("Evaluate"):
        build_evaluate_tab(lambda: scorer["now"])
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    yield Client(demo.local_url, verbose=False), scorer
    demo.close()


def test_run_compares_keyword_search_with_reranking(served, hf_scorer):
    client, _ = served
    note, metrics, _bars, curve, misses = client.predict(
        EN_BASE, EN_QUERIES, None, None, 5, api_name="/evaluate"
    )
    kb, queries = load_evaluation_set(bundled_bases()[EN_BASE], bundled_query_sets()[EN_QUERIES])
    reranked = evaluate(kb, queries, hf_scorer, top_k=5)
    assert [row[METHOD] for row in rows(metrics)] == ["Keyword only (BM25)", "Keyword + rerank"]
    assert rows(metrics)[1]["mrr@10"] == pytest.approx(reranked.metrics()["mrr@10"], abs=1e-3)
    assert [row["Query"] for row in rows(misses)] == [miss.query for miss in reranked.misses()]
    assert {row[0] for row in curve["data"]} == {"Keyword only (BM25)", "Keyword + rerank"}
    assert "52 in-scope and 5 out-of-scope queries" in note


def test_without_a_model_only_keyword_search_is_evaluated(served, hf_scorer):
    client, scorer = served
    scorer["now"] = None
    try:
        note, metrics, bars, *_ = client.predict(ZH_BASE, ZH_QUERIES, None, None, 20, api_name="/evaluate")
    finally:
        scorer["now"] = hf_scorer
    assert [row[METHOD] for row in rows(metrics)] == ["Keyword only (BM25)"]
    assert len(bars["data"]) == 5
    assert "The reranker is not loaded" in note


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_uploaded_csvs_are_evaluated_including_faqs_without_answers(served, tmp_path):
    client, _ = served
    faq = write(tmp_path / "faq.csv", "id,question\n1,How do I reset my password?\n2,How long is shipping?\n")
    queries = write(tmp_path / "queries.csv", "query,relevant_ids\nforgot my password,1\nsell bikes?,\n")
    _, metrics, *_ = client.predict(ZH_BASE, ZH_QUERIES, handle_file(faq), handle_file(queries), 20,
                                    api_name="/evaluate")  # fmt: skip
    assert [row["In-scope queries"] for row in rows(metrics)] == [1, 1]


def test_queries_that_name_unknown_ids_are_refused_with_the_reason(served, tmp_path):
    client, _ = served
    queries = write(tmp_path / "queries.csv", "query,relevant_ids\nwhere is my parcel,en-999\n")
    with pytest.raises(AppError, match="not in the knowledge base: en-999"):
        client.predict(EN_BASE, EN_QUERIES, None, handle_file(queries), 20, api_name="/evaluate")


def test_the_summary_leads_with_a_plain_verdict_and_metrics_fold_away():
    assert summary([KEYWORD, RERANK], 2).startswith("**Reranking")
    assert not summary([KEYWORD], 2).startswith("**Reranking")
    with gr.Blocks() as demo:
        build_evaluate_tab(lambda: None)
    details = [b for b in demo.blocks.values() if isinstance(b, gr.Accordion) and b.elem_id == "eval-details"]
    assert len(details) == 1 and details[0].open is False
