"""The configured first stage end to end: flags, the pipeline, the desk, /health, the evaluation CLI, the app."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from reranker.cli.main import main
from reranker.config import AppConfig, parse_args
from reranker.desk.desk import Desk
from reranker.desk.pipeline import first_stage, search_and_rank
from reranker.desk.results import DENSE_RANK, KEYWORD_RANK
from reranker.evaluation.evaluate import evaluate, load_evaluation_set
from reranker.knowledge.bases import BUNDLED_DIR, bundled_bases, load_faq
from reranker.retrieval.keyword import search_base
from reranker.retrieval.slot import DenseSlot
from reranker.server.serve import create_desk, create_rest_api

EN = "English store FAQ (en_store_faq.csv)"
ZH = "中文电商 FAQ (zh_ecommerce_faq.csv)"
#: Keyword search misses its FAQ (en-028, exchanging for another size); all-MiniLM-L6-v2 puts it first.
CHATTY = "shoes too small want a 10 instead of a 9"
ANSWER_ID = "en-028"
FAST = ["--backend", "transformers", "--dtype", "float32"]


@pytest.fixture(scope="module")
def en_index(minilm, en_kb):
    from reranker.retrieval.first_stage import index_base

    return index_base(minilm, en_kb, cache_dir=None)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def embedded_desk(scorer, embedder, tmp_path, **settings) -> Desk:
    """A desk whose English base is embedded (hybrid ready); ``settings`` go to :class:`Desk`."""
    desk = Desk(scorer, "no reranker", export_dir=tmp_path, bases=bundled_bases(),
                dense=DenseSlot.ready("hybrid", embedder, cache_dir=tmp_path / "vectors"), **settings)  # fmt: skip
    base = desk.select_base(EN)
    wait_for(lambda: desk.dense.for_base(base.kb).retrieval == "hybrid")
    return desk


# --- settings ---------------------------------------------------------------------------------


def test_first_stage_defaults_to_hybrid_with_an_embedding_model_and_keyword_without():
    assert parse_args([]).retrieval == "hybrid"
    assert parse_args(["--embedding-model", "none"]).retrieval == "keyword"
    assert parse_args(["--embedding-model", "none"]).wants_embedder is False


def test_first_stage_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("RERANKER_RETRIEVAL", "dense")
    monkeypatch.setenv("RERANKER_EMBEDDING_MODEL", "/models/minilm")
    config = AppConfig()
    assert (config.retrieval, config.embedding_model, config.retrieval_default) == (
        "dense",
        "/models/minilm",
        False,
    )


def test_dense_retrieval_without_an_embedding_model_is_refused(capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_args(["--retrieval", "dense", "--embedding-model", "none"])
    assert stopped.value.code == 2
    assert "needs an embedding model" in capsys.readouterr().err


# --- the pipeline -----------------------------------------------------------------------------


def test_hybrid_finds_the_faq_keyword_search_misses_for_a_chatty_question(en_kb, en_index):
    keyword = search_and_rank(en_kb, CHATTY, None, top_k=5)
    hybrid = search_and_rank(en_kb, CHATTY, None, top_k=5, retrieval="hybrid", index=en_index)
    assert ANSWER_ID not in [hit.entry.id for hit in keyword.hits]
    assert hybrid.retrieval == "hybrid" and hybrid.best.entry.id == ANSWER_ID
    assert (hybrid.best.keyword_rank, hybrid.best.dense_rank) == (None, 1)


def test_keyword_first_stage_is_keyword_search_exactly(en_kb):
    hits, _ = first_stage(en_kb, "  how do I reset my password ", top_k=5)
    expected = search_base(en_kb, "how do I reset my password", top_k=5)
    assert [(h.entry.id, h.keyword_rank, h.keyword_score, h.dense_rank) for h in hits] == [
        (e.entry.id, rank, e.score, None) for rank, e in enumerate(expected, start=1)
    ]


def test_dense_first_stage_ranks_by_the_embedding_alone(en_kb, en_index):
    hits, _ = first_stage(en_kb, CHATTY, top_k=3, retrieval="dense", index=en_index)
    assert [h.dense_rank for h in hits] == [1, 2, 3]


def test_dense_or_hybrid_without_the_base_index_is_a_bug(en_kb):
    with pytest.raises(ValueError, match="DenseIndex"):
        first_stage(en_kb, CHATTY, top_k=3, retrieval="hybrid")


def test_hybrid_beats_keyword_on_the_chatty_english_set(en_index):
    kb, queries = load_evaluation_set(
        BUNDLED_DIR / "en_store_faq.csv", BUNDLED_DIR / "en_store_queries_chatty.csv"
    )
    keyword = evaluate(kb, queries, None).metrics()
    hybrid = evaluate(kb, queries, None, retrieval="hybrid", index=en_index).metrics()
    assert hybrid["mrr@10"] > keyword["mrr@10"] and hybrid["recall@20"] > keyword["recall@20"]


# --- the desk and the table -------------------------------------------------------------------


def test_desk_faq_stream_in_hybrid_mode_shows_each_rows_keyword_and_dense_rank(hf_scorer, minilm, tmp_path):
    desk = embedded_desk(hf_scorer, minilm, tmp_path)
    results = list(desk.rank_faq_stream(CHATTY, None, desk.select_base(EN), top_k=5))
    first, final = results[0], results[-1]
    assert first.state == "partial" and "kw #" in first.table_html and "dense #" in first.table_html
    assert "first stage: hybrid (keyword + dense)" in final.status and "Hybrid" in final.summary
    assert final.table[DENSE_RANK].notna().all()
    exported = final.csv_path.read_text(encoding="utf-8-sig")
    assert f"{KEYWORD_RANK},{DENSE_RANK}" in exported.splitlines()[0]


def test_without_a_reranker_hybrid_results_keep_the_fused_order_and_say_so(minilm, tmp_path):
    desk = embedded_desk(None, minilm, tmp_path)
    result = desk.rerank_faq(CHATTY, None, desk.select_base(EN), top_k=5)
    assert result.kind == "first_stage" and result.table.iloc[0]["FAQ id"] == ANSWER_ID
    assert "Search scores only" in result.banner.text
    assert "hybrid (keyword + dense) search scores only" in result.status


def test_a_chinese_base_keeps_keyword_search_with_an_english_only_embedder(minilm, tmp_path):
    desk = embedded_desk(None, minilm, tmp_path)
    desk.select_base(ZH)
    wait_for(lambda: not desk.dense.busy)
    stage = desk.dense.for_base(desk.select_base(ZH).kb)
    assert stage.retrieval == "keyword" and "English-only" in stage.reason


def test_a_multilingual_qwen3_embedder_searches_a_chinese_base_hybrid(qwen, tmp_path):
    slot = DenseSlot.ready("hybrid", qwen, cache_dir=tmp_path)
    kb = load_faq(BUNDLED_DIR / "zh_ecommerce_faq.csv")
    slot.add_base(kb)
    wait_for(lambda: slot.for_base(kb).retrieval == "hybrid")
    ranking = search_and_rank(
        kb, "退款多久到账", None, top_k=5, retrieval="hybrid", index=slot.for_base(kb).index
    )
    assert len(ranking.hits) == 5 and all(hit.dense_rank is not None for hit in ranking.hits)


# --- serving: a missing embedder, /health, the launched app -------------------------------------


@pytest.mark.parametrize("model", ["/nowhere", "Qwen/Qwen3-Embedding-0.6B"])
def test_an_embedder_that_cannot_load_leaves_keyword_search_and_says_why(model, tmp_path):
    config = AppConfig(model="/nowhere", embedding_model=model, backend="transformers")
    desk = create_desk(config, background=False)
    body = TestClient(create_rest_api(desk, config)).get("/health").json()
    assert body["first_stage"] == "keyword"
    assert (
        "embedding model is not loaded" in body["first_stage_reason"] and model in body["first_stage_reason"]
    )
    kind, text = desk.first_stage_notice()
    assert kind == "warn" and "Keyword search only" in text
    result = desk.rerank_faq("where is my order", None, desk.select_base(EN))
    assert "first stage: keyword (BM25)" in result.status


def test_embedding_model_none_turns_dense_off(tmp_path):
    config = AppConfig(model="/nowhere", embedding_model="none")
    desk = create_desk(config, background=False)
    assert desk.dense.health() == ("keyword", "Keyword search (BM25) only: --embedding-model none.")
    assert desk.first_stage_notice() is None


def test_app_started_offline_with_the_minilm_directory_serves_hybrid(launch_desk, tiny_model_dir, minilm_dir):
    config = parse_args(["--model", str(tiny_model_dir), "--embedding-model", str(minilm_dir), *FAST])
    url = launch_desk(create_desk(config))

    def health() -> dict:
        return httpx.get(f"{url}health", timeout=10).json()

    wait_for(
        lambda: health()["first_stage"] == "hybrid" and "Embedding" not in health()["first_stage_reason"]
    )
    assert str(minilm_dir) in health()["first_stage_reason"]


# --- the evaluation CLI -----------------------------------------------------------------------


def evaluate_json(capsys, *flags: str) -> dict:
    argv = ["--faq", str(BUNDLED_DIR / "en_store_faq.csv"),
            "--queries", str(BUNDLED_DIR / "en_store_queries_chatty.csv"), "--no-rerank", "--json", *FAST, *flags]  # fmt: skip
    assert main(["evaluate", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_cli_compares_first_stages_with_the_same_json_keys(capsys, minilm_dir):
    keyword = evaluate_json(capsys, "--embedding-model", "none")
    hybrid = evaluate_json(capsys, "--retrieval", "hybrid", "--embedding-model", str(minilm_dir))
    assert (keyword["method"], keyword["retrieval"], hybrid["method"]) == ("keyword", "keyword", "hybrid")
    assert set(hybrid) - set(keyword) == {"embedding_model"}
    assert hybrid["mrr@10"] > keyword["mrr@10"]


def test_evaluate_cli_with_an_explicit_first_stage_and_no_embedder_exits_2(capsys):
    argv = ["--faq", str(BUNDLED_DIR / "en_store_faq.csv"), "--queries", str(BUNDLED_DIR / "en_store_queries.csv"),
            "--no-rerank", "--retrieval", "hybrid", "--embedding-model", "/nowhere"]  # fmt: skip
    assert main(["evaluate", *argv]) == 2
    assert "/nowhere" in capsys.readouterr().err


def test_evaluate_cli_default_first_stage_falls_back_to_keyword_offline(capsys):
    assert evaluate_json(capsys)["retrieval"] == "keyword"


def test_evaluate_tab_compares_keyword_dense_hybrid_and_hybrid_rerank(hf_scorer, en_index):
    from reranker.ui.evaluate_tab import METHOD, compare, metrics_table

    kb, queries = load_evaluation_set(
        BUNDLED_DIR / "en_store_faq.csv", BUNDLED_DIR / "en_store_queries_chatty.csv"
    )
    reports = compare(kb, queries[:4], hf_scorer, top_k=5, index=en_index)
    assert metrics_table(reports)[METHOD].tolist() == [
        "Keyword only (BM25)", "Dense only (embeddings)", "Hybrid (keyword + dense)", "Hybrid + rerank",
    ]  # fmt: skip


def test_faq_search_route_uses_the_desks_hybrid_stage_and_records_it_with_a_pick(
    hf_scorer, minilm, tmp_path, launch_desk
):
    from reranker.feedback.picks import Picks
    from reranker.store import open_store

    store = open_store(tmp_path)

    desk = embedded_desk(hf_scorer, minilm, tmp_path)
    url = launch_desk(desk, Picks(store, desk.bases))
    body = httpx.post(
        f"{url}v1/faq/search", json={"query": CHATTY, "base": EN, "top_k": 5}, timeout=60
    ).json()
    assert body["first_stage"] == "hybrid"
    found = {result["id"]: (result["keyword_rank"], result["dense_rank"]) for result in body["results"]}
    assert found[ANSWER_ID] == (None, 1)
    pick = {"query": CHATTY, "base": EN, "chosen_id": ANSWER_ID, "request_id": body["request_id"]}
    assert httpx.post(f"{url}v1/feedback", json=pick, timeout=60).status_code == 201
    assert [record.first_stage for record in store.records(EN)] == ["hybrid"]
