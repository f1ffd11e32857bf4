"""The evaluation: evaluate() on the bundled query sets, and the ``python -m reranker.evaluate`` CLI."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from reranker.cli.main import main
from reranker.config import EngineConfig
from reranker.errors import InvalidInput
from reranker.evaluation.evaluate import (
    METRICS,
    EvaluationReport,
    QueryResult,
    evaluate,
    format_report,
    load_evaluation_set,
)
from reranker.evaluation.metrics import PROBABILITY_THRESHOLDS
from reranker.knowledge.bases import BUNDLED_DIR, FaqEntry, KnowledgeBase
from reranker.knowledge.labelled import LabelledQuery
from reranker.retrieval.keyword import search_base

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "en": (BUNDLED_DIR / "en_store_faq.csv", BUNDLED_DIR / "en_store_queries.csv"),
    "zh": (BUNDLED_DIR / "zh_ecommerce_faq.csv", BUNDLED_DIR / "zh_ecommerce_queries.csv"),
}
EN_FAQ, EN_QUERIES = SETS["en"]


def in_scope_rows(queries_csv: Path) -> int:
    table = pd.read_csv(queries_csv, dtype=str, keep_default_na=False)
    return int((table["relevant_ids"].str.strip() != "").sum())


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "reranker.evaluate", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def en_set():
    return load_evaluation_set(EN_FAQ, EN_QUERIES)


def test_keyword_evaluation_counts_in_scope_and_out_of_scope_queries(en_set):
    kb, queries = en_set
    report = evaluate(kb, queries, scorer=None)
    metrics = report.metrics()
    assert report.method == "keyword" and not report.partial
    assert metrics["queries"] == in_scope_rows(EN_QUERIES)
    assert len(report.out_of_scope) == len(queries) - metrics["queries"]
    assert all(0.0 <= metrics[name] <= 1.0 for name in METRICS)
    assert metrics["recall@1"] <= metrics["recall@5"] <= metrics["recall@20"]


def test_misses_are_the_in_scope_queries_whose_first_answer_is_wrong(en_set):
    kb, queries = en_set
    report = evaluate(kb, queries, scorer=None)
    misses = report.misses()
    assert len(misses) == round((1 - report.metrics()["recall@1"]) * report.metrics()["queries"])
    for miss in misses:
        assert miss.expected and miss.got not in miss.expected
        assert miss.rank != 1


def test_reranking_reorders_the_keyword_candidates_by_the_scorers_ranking(en_set, hf_scorer):
    kb, queries = en_set
    report = evaluate(kb, queries[:4], hf_scorer, top_k=5)
    assert report.method == "rerank"
    for labelled, result in zip(queries[:4], report.results):
        hits = search_base(kb, labelled.query, top_k=5)
        ranked = hf_scorer.rank(labelled.query, [hit.entry.text for hit in hits])
        assert result.ranked_ids == tuple(hits[doc.index].entry.id for doc in ranked)
        assert result.top_score == ranked[0].score


def test_entries_without_an_answer_are_reranked_on_their_question(hf_scorer):
    kb = KnowledgeBase(
        [
            FaqEntry("1", "How do I reset my password?", ""),
            FaqEntry("2", "How long does shipping take?", ""),
            FaqEntry("3", "Can I change my password by phone?", ""),
        ]
    )
    query = "password reset email"
    report = evaluate(kb, [LabelledQuery(query, ("1",))], hf_scorer)
    hits = search_base(kb, query)
    ranked = hf_scorer.rank(query, [hit.entry.question for hit in hits])
    assert report.results[0].ranked_ids == tuple(hits[doc.index].entry.id for doc in ranked)


def test_rerank_sweep_uses_probability_thresholds_and_flags_more_as_they_rise(en_set, hf_scorer):
    kb, queries = en_set
    report = evaluate(kb, queries[-8:], hf_scorer, top_k=3)
    sweep = report.threshold_sweep()
    assert [point.threshold for point in sweep] == list(PROBABILITY_THRESHOLDS)
    for lower, higher in itertools.pairwise(sweep):
        assert lower.in_scope_flagged <= higher.in_scope_flagged
        assert lower.out_of_scope_flagged <= higher.out_of_scope_flagged


def test_keyword_sweep_uses_quantiles_of_the_runs_own_top_scores(en_set):
    kb, queries = en_set
    report = evaluate(kb, queries, scorer=None)
    top_scores = [r.top_score for r in report.results if r.top_score is not None]
    thresholds = [point.threshold for point in report.threshold_sweep()]
    assert min(top_scores) <= thresholds[0] < thresholds[-1] <= max(top_scores)
    assert report.threshold_sweep()[-1].out_of_scope_flagged == len(report.out_of_scope)


def test_progress_is_reported_after_every_query(en_set):
    kb, queries = en_set
    calls = []
    evaluate(kb, queries[:3], scorer=None, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_top_k_below_one_is_refused(en_set):
    kb, queries = en_set
    with pytest.raises(InvalidInput, match="whole number between 1"):
        evaluate(kb, queries, scorer=None, top_k=0)


def test_a_query_with_no_keyword_match_is_a_miss_with_nothing_found():
    kb = KnowledgeBase([FaqEntry("1", "How do I reset my password?", "Use 'Forgot password'.")])
    report = evaluate(kb, [LabelledQuery("zzz qqq", ("1",))], scorer=None)
    assert report.results[0].top_score is None
    assert report.misses()[0].got is None and report.misses()[0].rank is None
    assert report.metrics()["mrr@10"] == 0.0


def test_a_report_without_in_scope_queries_has_no_averages():
    report = EvaluationReport("keyword", 20, (QueryResult("hello", (), ("1",), 2.0),), total=1)
    assert report.metrics() == dict.fromkeys(METRICS, None) | {"queries": 0}
    assert "mrr@10     n/a" in format_report(report, "title")


@pytest.mark.parametrize("name", ["en", "zh"])
def test_cli_no_rerank_json_prints_the_metrics(name):
    faq, queries = SETS[name]
    completed = run_cli("--faq", faq, "--queries", queries, "--no-rerank", "--json")
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert {*METRICS, "queries"} <= payload.keys()
    assert 0.0 < payload["mrr@10"] <= 1.0
    assert payload["queries"] == in_scope_rows(queries)
    assert payload["out_of_scope"] == 5 and payload["method"] == "keyword"
    assert payload["threshold_sweep"] and not payload["partial"]


def test_cli_rerank_with_a_local_model_and_a_limit(tiny_model_dir):
    completed = run_cli("--faq", EN_FAQ, "--queries", EN_QUERIES, "--rerank", "--model", tiny_model_dir,
                        "--backend", "transformers", "--limit", "5", "--json")  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert payload["method"] == "rerank" and payload["backend"] == "transformers"
    assert payload["evaluated"] == 5 and payload["queries"] == 5
    assert [p["threshold"] for p in payload["threshold_sweep"]] == list(PROBABILITY_THRESHOLDS)


@pytest.mark.slow
def test_cli_json_with_the_vllm_backend_is_the_only_thing_on_stdout(tiny_model_dir):
    completed = run_cli("--faq", EN_FAQ, "--queries", EN_QUERIES, "--model", tiny_model_dir,
                        "--backend", "vllm", "--limit", "2", "--json")  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)  # the whole of stdout: vLLM's log lines go to stderr
    assert payload["backend"] == "vllm" and payload["evaluated"] == 2


def test_cli_text_report_shows_metrics_sweep_and_misses(capsys):
    assert main(["evaluate", "--faq", str(EN_FAQ), "--queries", str(EN_QUERIES), "--no-rerank"]) == 0
    out = capsys.readouterr().out
    assert "method: keyword search only (BM25), top 20 candidates" in out
    for name in METRICS:
        assert re.search(rf"^{name} +[01]\.\d{{3}}$", out, re.MULTILINE), name
    assert "out-of-scope flagged" in out
    assert "Queries where the right answer was not first" in out


def test_cli_ctrl_c_prints_the_partial_metrics(monkeypatch, capsys, hf_scorer):
    class InterruptedAfterTwo:
        """The real scorer, with the user pressing Ctrl-C during the third query."""

        model, backend_name, calls = hf_scorer.model, hf_scorer.backend_name, 0

        def score_detailed(self, query, documents, instruction=None):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return hf_scorer.score_detailed(query, documents, instruction)

        def close(self):
            pass

    monkeypatch.setattr(EngineConfig, "load_scorer", lambda *args, **kwargs: InterruptedAfterTwo())
    code = main(["evaluate", "--faq", str(EN_FAQ), "--queries", str(EN_QUERIES), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 130
    assert payload["partial"] is True and payload["evaluated"] == 2 and payload["total"] == 57
    assert payload["queries"] == 2


def test_cli_missing_file_exits_2_with_one_line():
    completed = run_cli("--faq", "missing.csv", "--queries", EN_QUERIES, "--no-rerank")
    assert completed.returncode == 2
    assert completed.stderr.strip() == "error: Cannot find the file missing.csv. Check the path."
    assert completed.stdout == ""


def test_cli_unknown_ids_exit_2_with_the_invalid_input_message(tmp_path):
    queries = tmp_path / "queries.csv"
    queries.write_text("query,relevant_ids\nwhere is my parcel,en-004|en-999\n", encoding="utf-8")
    completed = run_cli("--faq", EN_FAQ, "--queries", queries, "--no-rerank")
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert "not in the knowledge base: en-999" in completed.stderr


def test_cli_bad_csv_and_unloadable_model_exit_2_with_one_line_each(tmp_path, capsys):
    workbook = tmp_path / "faq.csv"
    workbook.write_bytes(b"PK\x03\x04 an Excel workbook renamed to .csv")
    assert main(["evaluate", "--faq", str(workbook), "--queries", str(EN_QUERIES), "--no-rerank"]) == 2
    assert main(["evaluate", "--faq", str(EN_FAQ), "--queries", str(EN_QUERIES), "--model", "/nowhere"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(line.startswith("error: ") for line in errors)
    assert "Model not found" in errors[1]


def test_an_interrupted_report_is_marked_partial():
    report = EvaluationReport(
        "keyword", 20, (QueryResult("where is my parcel", ("en-004",), ("en-004",), 5.0),), total=3
    )
    assert report.partial
    assert "PARTIAL: interrupted after 1 of 3 queries" in format_report(report, "title")


def test_no_rerank_never_loads_a_model(capsys):
    assert (
        main(["evaluate", "--faq", str(EN_FAQ), "--queries", str(EN_QUERIES), "--no-rerank", "--model", "/nowhere"]) == 0
    )
    assert "keyword search only" in capsys.readouterr().out
