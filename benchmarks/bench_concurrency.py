"""Agents at once: pairs/s and latency of ``POST /v1/rerank`` at 1, 4 and 16 concurrent requests.

    .venv/bin/python benchmarks/bench_concurrency.py            # prints a table; --out appends it

Model: random weights with exactly Qwen3-0.6B's shape, on the app's default engine (``load_scorer()``:
vLLM in-process, the dtype ``auto`` picks), warmed up as the app's loader does. Each request is a
different question of the bundled English query set with the 20 answers keyword search picks for it,
so the score cache answers nothing. Two ways of sharing the engine are measured in the same run,
alternating per concurrency level: ``together`` (the scorer's queue: requests that wait for the
engine are scored in one call) and ``one at a time`` (the baseline: each request its own engine call,
in turn, as before issue 20).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOP_K = 20
LEVELS = (1, 4, 16)


def requests_for(count: int) -> list[tuple[str, list[str]]]:
    """``count`` (question, top-20 answers) requests from the bundled English query set."""
    from reranker.knowledge_base import bundled_bases, load_faq
    from reranker.labelled import bundled_query_sets, load_queries

    base = load_faq(next(p for p in bundled_bases().values() if p.name.startswith("en")))
    queries = load_queries(next(p for p in bundled_query_sets().values() if p.name.startswith("en")))
    questions = [q.query for q in queries][:count]
    return [(q, [hit.entry.text for hit in base.search(q, top_k=TOP_K)]) for q in questions]


def one_at_a_time(scorer):
    """The scorer as before issue 20: each request its own engine call, in turn."""

    def run(prompts):
        with scorer._lock:
            return scorer.backend.score_token_ids(prompts)

    return run


def measure(client, scorer, level: int, work: list[tuple[str, list[str]]]) -> dict[str, float]:
    """Send ``work`` from ``level`` threads at once; pairs/s over the whole, and each request's latency."""
    scorer.reset_caches()

    def send(item: tuple[str, list[str]]) -> float:
        began = time.perf_counter()
        response = client.post(
            "/v1/rerank", json={"query": item[0], "documents": item[1], "return_documents": False}
        )
        response.raise_for_status()
        return time.perf_counter() - began

    began = time.perf_counter()
    with ThreadPoolExecutor(level) as pool:
        latencies = sorted(pool.map(send, work))
    wall = time.perf_counter() - began
    pairs = sum(len(docs) for _, docs in work)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    return {"pairs_s": pairs / wall, "p50": statistics.median(latencies), "p95": p95, "requests": len(work)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-client", type=int, default=2, help="requests each client sends")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS), help="concurrent requests")
    parser.add_argument("--rounds", type=int, default=1, help="alternations of the two modes per level")
    parser.add_argument("--out", type=Path, help="append the table to this file")
    args = parser.parse_args()

    import torch
    from fastapi.testclient import TestClient

    from reranker import load_scorer
    from reranker.api import create_api
    from reranker.testing.make_model import make_model

    scorer = load_scorer(make_model("qwen3-0.6b-shape"))
    scorer.warm_up()
    client = TestClient(create_api(lambda: scorer))
    together_run = scorer._run
    work = requests_for(max(args.levels) * args.requests_per_client)
    rows = []
    for level in args.levels:
        chunk = work[: max(level * args.requests_per_client, 4)]
        for mode in ("one at a time", "together") * args.rounds:
            scorer._run = one_at_a_time(scorer) if mode == "one at a time" else together_run
            result = measure(client, scorer, level, chunk)
            rows.append((level, mode, result))
            print(level, mode, result, file=sys.stderr, flush=True)
    scorer._run = together_run
    lines = [
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, engine {scorer.backend_name} "
        f"({scorer.backend.description}); 20 FAQ answers per request; baseline in the same run.",
        "",
        "| concurrent requests | engine sharing | requests | pairs/s | vs one at a time | p50 | p95 |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for index, (level, mode, r) in enumerate(rows):
        # against the one-at-a-time run of the same level and round (the row before a "together" row)
        baseline = r["pairs_s"] if mode == "one at a time" else rows[index - 1][2]["pairs_s"]
        lines.append(
            f"| {level} | {mode} | {r['requests']} | {r['pairs_s']:.1f} | {r['pairs_s'] / baseline:.2f}× | "
            f"{r['p50']:.2f} s | {r['p95']:.2f} s |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report)


if __name__ == "__main__":
    main()
