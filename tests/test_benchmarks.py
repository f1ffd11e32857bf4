"""The benchmark scripts still run against today's code: each imports, and the workloads they
time are built from the bundled bases (a benchmark that breaks silently publishes nothing)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from benchmarks import bench_concurrency, bench_cpu, bench_rerank

SCRIPTS = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_script_imports(script):
    module = importlib.import_module(f"benchmarks.{script}")
    assert module.__doc__, f"benchmarks/{script}.py says what it measures and how to run it"


def test_concurrent_requests_are_distinct_questions_with_their_top_20():
    work = bench_concurrency.requests_for(4)
    assert len({query for query, _ in work}) == 4
    assert all(0 < len(docs) <= bench_concurrency.TOP_K for _, docs in work)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_cpu_benchmarks_workload_is_a_question_and_its_top_20(lang):
    query, docs = bench_cpu.workload(lang)
    assert query == bench_cpu.QUESTIONS[lang] and len(docs) == bench_cpu.TOP_K


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_rerank_benchmarks_workload_has_the_size_asked_for(lang):
    query, docs = bench_rerank.workload(lang, 10)
    assert query and len(docs) == 10
