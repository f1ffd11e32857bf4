"""Dense and hybrid first stage: token ids, pooling, the disk cache, the index, fusion, quality."""

from __future__ import annotations

import doctest
import json
import shutil

import numpy as np
import pytest
from transformers import AutoTokenizer

from reranker.errors import InvalidInput, ModelUnavailable
from reranker.evaluation import compare
from reranker.evaluation.compare import dense_rankings, fused_rankings, keyword_rankings, ranking_metrics
from reranker.knowledge.bases import BUNDLED_DIR, load_faq
from reranker.knowledge.labelled import load_queries
from reranker.retrieval import dense, fusion
from reranker.retrieval.dense import (
    DEFAULT_TASK,
    DenseIndex,
    faq_text,
    format_query,
    load_embedder,
    read_spec,
)
from reranker.retrieval.fusion import FusedHit, hybrid_search, reciprocal_rank_fusion
from tests.reference import model_card_embeddings

ENDOFTEXT = 151643


# --- Qwen3-Embedding: the model card's inputs, exactly ---------------------------------------


def test_query_ids_are_instruct_line_query_and_endoftext(qwen):
    ids = qwen.encoder.query_ids("hi")
    # "Inst" "ruct" ":" ... "\n" "Query" ":" "hi" <|endoftext|>
    assert ids[:3] == [641, 1235, 25]
    assert ids[-5:] == [198, 2859, 25, 6023, ENDOFTEXT]


def test_query_and_document_ids_equal_the_model_card_tokenisation(qwen, tiny_embedding_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_embedding_model_dir)
    query, document = "订单一直显示待发货怎么办？", "付款后24小时内发出。"
    card_query = f"Instruct: {DEFAULT_TASK}\nQuery:{query}"
    assert format_query(query) == card_query
    assert qwen.encoder.query_ids(query) == tokenizer(card_query)["input_ids"]
    assert qwen.encoder.document_ids(document) == tokenizer(document)["input_ids"]
    assert qwen.encoder.document_ids(document) == [
        *tokenizer.encode(document, add_special_tokens=False),
        ENDOFTEXT,
    ]


def test_long_document_is_cut_but_keeps_the_final_endoftext(qwen):
    ids = qwen.encoder.document_ids("Refunds go back to the card you paid with. " * 200)
    assert len(ids) == qwen.spec.max_length
    assert ids[-1] == ENDOFTEXT


def test_qwen_embeddings_equal_the_model_card_reference(qwen, tiny_embedding_model_dir):
    texts = [format_query("我的快递到哪了"), "Standard shipping takes 3-5 business days.", "退款多久到账？"]
    ours = np.concatenate([qwen.embed_queries(["我的快递到哪了"]), qwen.embed_documents(texts[1:])])
    reference = model_card_embeddings(tiny_embedding_model_dir, texts)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)


def test_padding_does_not_change_an_embedding(qwen):
    alone = qwen.embed_documents(["退款多久到账？"])
    batched = qwen.embed_documents(
        ["退款多久到账？", "A much longer English text about orders and parcels " * 5]
    )
    np.testing.assert_allclose(alone[0], batched[0], atol=1e-5)


# --- sentence-transformers directories -------------------------------------------------------


def test_minilm_pooling_comes_from_its_sentence_transformers_files(minilm_dir):
    spec = read_spec(minilm_dir, "minilm")
    assert (spec.pooling, spec.normalize, spec.max_length, spec.instruct_queries) == (
        "mean",
        True,
        256,
        False,
    )


def test_minilm_embeddings_equal_sentence_transformers(minilm, minilm_dir):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    texts = ["How long does shipping take?", "my card got declined", "a" * 50]
    reference = sentence_transformers.SentenceTransformer(str(minilm_dir), device="cpu").encode(texts)
    np.testing.assert_allclose(minilm.embed_documents(texts), reference, atol=1e-5)
    np.testing.assert_allclose(minilm.embed_queries(texts), reference, atol=1e-5)


def _copy_with_pooling(source, target, **modes):
    shutil.copytree(source, target)
    config = json.loads((target / "1_Pooling" / "config.json").read_text())
    config.update({"pooling_mode_mean_tokens": False, **modes})
    (target / "1_Pooling" / "config.json").write_text(json.dumps(config))
    return target


def test_cls_pooling_takes_the_first_token(minilm_dir, tmp_path):
    directory = _copy_with_pooling(minilm_dir, tmp_path / "cls", pooling_mode_cls_token=True)
    embedder = load_embedder(directory, backend="transformers", dtype="float32")
    assert embedder.spec.pooling == "cls"
    vector = embedder.embed_documents(["hello world"])[0]
    import torch

    ids = torch.tensor([embedder.encoder.document_ids("hello world")])
    with torch.inference_mode():
        first = embedder.backend.model(input_ids=ids).last_hidden_state[0, 0]
    np.testing.assert_allclose(vector, torch.nn.functional.normalize(first, dim=0).numpy(), atol=1e-5)


def test_unsupported_pooling_is_refused_naming_it(minilm_dir, tmp_path):
    directory = _copy_with_pooling(minilm_dir, tmp_path / "max", pooling_mode_max_tokens=True)
    with pytest.raises(ModelUnavailable, match="pooling_mode_max_tokens"):
        load_embedder(directory, backend="transformers")


def test_directory_without_sentence_transformers_files_is_refused_with_the_fix(minilm_dir, tmp_path):
    directory = tmp_path / "bare"
    shutil.copytree(minilm_dir, directory)
    (directory / "modules.json").unlink()
    with pytest.raises(ModelUnavailable, match=r"modules\.json.*--embedding-model none"):
        load_embedder(directory, backend="transformers")


# --- loading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["none", "None", " ", None])
def test_none_turns_dense_retrieval_off(value):
    assert load_embedder(value) is None


def test_unknown_backend_is_refused_listing_the_choices():
    with pytest.raises(InvalidInput, match="auto, vllm, transformers"):
        load_embedder("none", backend="onnx")


def test_missing_directory_names_the_flag(tmp_path):
    with pytest.raises(ModelUnavailable, match="--embedding-model"):
        load_embedder(tmp_path / "nowhere")


def test_default_model_offline_and_not_cached_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(
        ModelUnavailable, match=r"hf download Qwen/Qwen3-Embedding-0\.6B.*--embedding-model DIR"
    ):
        load_embedder()


# --- the disk cache ----------------------------------------------------------------------------


def test_second_build_reads_every_row_from_the_cache(minilm, tmp_path):
    texts = ["Refunds take 5 days.", "We ship to 40 countries.", "Gift cards never expire."]
    first = DenseIndex.build(minilm, texts, cache_dir=tmp_path)
    again = DenseIndex.build(minilm, texts, cache_dir=tmp_path)
    assert (first.computed, again.computed) == (3, 0)
    np.testing.assert_array_equal(first.matrix, again.matrix)


def test_a_changed_row_is_embedded_alone(minilm, tmp_path):
    texts = ["Refunds take 5 days.", "We ship to 40 countries.", "Gift cards never expire."]
    DenseIndex.build(minilm, texts, cache_dir=tmp_path)
    changed = [texts[0], "We ship to 45 countries.", texts[2]]
    seen = []
    index = DenseIndex.build(minilm, changed, cache_dir=tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert index.computed == 1
    assert seen[0] == (2, 3) and seen[-1] == (3, 3)
    np.testing.assert_allclose(index.matrix, minilm.embed_documents(changed), atol=1e-6)


def test_cache_is_per_model(minilm, qwen, tmp_path):
    texts = ["Refunds take 5 days."]
    DenseIndex.build(minilm, texts, cache_dir=tmp_path)
    other = DenseIndex.build(qwen, texts, cache_dir=tmp_path)
    assert other.computed == 1 and other.matrix.shape == (1, qwen.dimension)
    assert len(list(tmp_path.glob("*.sqlite"))) == 2


def test_repeated_texts_are_embedded_once(minilm, tmp_path):
    index = DenseIndex.build(minilm, ["same", "same", "other"], cache_dir=tmp_path)
    assert index.computed == 2
    np.testing.assert_array_equal(index.matrix[0], index.matrix[1])


# --- the index -----------------------------------------------------------------------------------


def test_search_returns_the_exact_top_k_best_first():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((1000, 32)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = matrix[17] + 0.1 * rng.standard_normal(32).astype(np.float32)
    hits = DenseIndex(matrix).search_vector(query, top_k=10)
    expected = np.argsort(-(matrix @ query), kind="stable")[:10]
    assert [h.index for h in hits] == expected.tolist()
    assert hits[0].index == 17


def test_top_k_larger_than_the_index_returns_every_row_and_zero_is_refused():
    index = DenseIndex(np.eye(3, dtype=np.float32))
    assert len(index.search_vector(np.ones(3), top_k=50)) == 3
    with pytest.raises(InvalidInput):
        index.search_vector(np.ones(3), top_k=0)


def test_search_over_100k_rows_returns_the_100_best_rows_best_first():
    """How fast this is belongs to benchmarks/bench_embed.py (a wall-clock limit here fails on a busy CI)."""
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((100_000, 384)).astype(np.float32)
    index = DenseIndex(matrix)
    query = rng.standard_normal(384).astype(np.float32)
    hits = index.search_vector(query, top_k=100)
    scores = matrix @ query
    assert [hit.index for hit in hits] == np.argsort(-scores, kind="stable")[:100].tolist()
    assert [hit.score for hit in hits] == pytest.approx(scores[[hit.index for hit in hits]].tolist())


# --- fusion ------------------------------------------------------------------------------------


def test_fused_hits_carry_both_ranks_and_none_when_absent():
    hits = reciprocal_rank_fusion(["a", "b"], ["b", "c"], k=60, dense_weight=1.0)
    assert hits[0] == FusedHit("b", 1 / 62 + 1 / 61, keyword_rank=2, dense_rank=1)
    assert {h.id: (h.keyword_rank, h.dense_rank) for h in hits} == {
        "a": (1, None),
        "b": (2, 1),
        "c": (None, 2),
    }


def test_dense_weight_decides_between_the_two_tops():
    assert hybrid_search(["kw"], ["dn"], top_k=1, dense_weight=2.0)[0].id == "dn"
    assert hybrid_search(["kw"], ["dn"], top_k=1, dense_weight=0.5)[0].id == "kw"


def test_equal_scores_keep_keyword_order_and_repeats_count_once():
    hits = hybrid_search(["a", "b", "a"], ["b", "a"], top_k=5, dense_weight=1.0)
    assert [h.id for h in hits] == ["a", "b"]
    assert (hits[0].keyword_rank, hits[0].dense_rank) == (1, 2)


def test_empty_rankings_and_bad_settings():
    assert hybrid_search([], [], top_k=3) == []
    with pytest.raises(InvalidInput):
        hybrid_search(["a"], [], top_k=0)
    with pytest.raises(InvalidInput):
        reciprocal_rank_fusion(["a"], ["b"], dense_weight=-1)


# --- quality on the bundled sets -------------------------------------------------------------


@pytest.fixture(scope="module")
def english_runs(minilm):
    kb = load_faq(BUNDLED_DIR / "en_store_faq.csv")
    index = DenseIndex.build(minilm, [faq_text(e) for e in kb.entries], cache_dir=None)
    runs = {}
    for name in ("en_store_queries", "en_store_queries_chatty"):
        queries = load_queries(BUNDLED_DIR / f"{name}.csv", known_ids={e.id for e in kb.entries})
        keyword = keyword_rankings(kb, queries)
        dense_ = dense_rankings([e.id for e in kb.entries], index, queries)
        runs[name] = (queries, keyword, dense_)
    return runs


@pytest.mark.parametrize("name", ["en_store_queries", "en_store_queries_chatty"])
def test_hybrid_beats_keyword_search_on_the_english_sets(english_runs, name):
    queries, keyword, dense_ = english_runs[name]
    keyword_metrics = ranking_metrics([r[:20] for r in keyword], queries)
    hybrid_metrics = ranking_metrics(fused_rankings(keyword, dense_, 20), queries)
    assert hybrid_metrics["mrr@10"] > keyword_metrics["mrr@10"] + 0.05
    assert hybrid_metrics["recall@1"] > keyword_metrics["recall@1"]
    assert hybrid_metrics["recall@5"] >= keyword_metrics["recall@5"]
    assert hybrid_metrics["recall@20"] >= keyword_metrics["recall@20"]


def test_chatty_queries_are_hard_for_keyword_search(english_runs):
    queries, keyword, _ = english_runs["en_store_queries_chatty"]
    assert ranking_metrics([r[:20] for r in keyword], queries)["recall@20"] < 0.9


@pytest.mark.parametrize(
    ("faq", "queries"),
    [
        ("en_store_faq.csv", "en_store_queries_chatty.csv"),
        ("zh_ecommerce_faq.csv", "zh_ecommerce_queries_chatty.csv"),
    ],
)
def test_chatty_query_sets_label_only_existing_entries(faq, queries):
    kb = load_faq(BUNDLED_DIR / faq)
    labelled = load_queries(BUNDLED_DIR / queries, known_ids={e.id for e in kb.entries})
    assert len(labelled) >= 40 and all(q.relevant_ids for q in labelled)


@pytest.mark.parametrize("module", [dense, fusion, compare])
def test_module_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


# --- vLLM: the embedding engine next to the reranker's, in one process -------------------------


@pytest.mark.slow
def test_vllm_embedder_runs_next_to_the_vllm_reranker_and_agrees_with_transformers(
    vllm_scorer, qwen, tiny_embedding_model_dir
):
    before = vllm_scorer.score("where is my order", ["It ships in 24 hours.", "Refunds take 5 days."])
    engine = load_embedder(tiny_embedding_model_dir, backend="vllm", dtype="float32")
    texts = ["订单一直显示待发货怎么办？", "Standard shipping takes 3-5 business days."]
    np.testing.assert_allclose(engine.embed_documents(texts), qwen.embed_documents(texts), atol=1e-5)
    np.testing.assert_allclose(engine.embed_queries(texts), qwen.embed_queries(texts), atol=1e-5)
    after = vllm_scorer.score("where is my order", ["It ships in 24 hours.", "Refunds take 5 days."])
    assert after == pytest.approx(before, abs=1e-6)
    assert engine.fingerprint != qwen.fingerprint  # vLLM's vectors are cached apart


@pytest.mark.slow
def test_vllm_embeds_a_sentence_transformers_directory_with_its_pooling(minilm, minilm_dir):
    engine = load_embedder(minilm_dir, backend="vllm", dtype="float32")
    texts = ["How long does shipping take?", "my card got declined"]
    np.testing.assert_allclose(engine.embed_documents(texts), minilm.embed_documents(texts), atol=1e-5)
