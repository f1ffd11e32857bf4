"""Agents at once: pairs/s and latency of ``POST /v1/rerank`` at 1, 4 and 16 concurrent requests.

    .venv/bin/python benchmarks/bench_concurrency.py            # prints a table; --out appends it

Model: random weights with exactly Qwen3-0.6B's shape, on the app's default engine (``load_scorer()``:
vLLM in-process, the dtype ``auto`` picks), warmed up as the app's loader does. Each request is a
different question of the bundled English query set with the 20 answers keyword search picks for it,
so the score cache answers nothing. Requests take turns on the engine (one engine call each); the
ratio is against one client in the same run.

Tried and measured in issue 20, then left out: scoring the requests that wait for the engine
together in one call. On the Intel Xeon (bf16, vLLM 0.32) it gave 0.71x and 0.76x the pairs/s of
taking turns at 4 concurrent requests, alternated in one run (see benchmarks/results.md).
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
    from reranker.knowledge.bases import bundled_bases, load_faq
    from reranker.knowledge.labelled import bundled_query_sets, load_queries

    base = load_faq(next(p for p in bundled_bases().values() if p.name.startswith("en")))
    queries = load_queries(next(p for p in bundled_query_sets().values() if p.name.startswith("en")))
    questions = [q.query for q in queries][:count]
    return [(q, [hit.entry.text for hit in base.search(q, top_k=TOP_K)]) for q in questions]


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
    parser.add_argument("--out", type=Path, help="append the table to this file")
    args = parser.parse_args()

    import torch
    from fastapi.testclient import TestClient

    from reranker import load_scorer
    from reranker.server.api import create_api
    from reranker.testing.make_model import make_model

    scorer = load_scorer(make_model("qwen3-0.6b-shape"))
    scorer.warm_up()
    client = TestClient(create_api(lambda: scorer))
    work = requests_for(max(args.levels) * args.requests_per_client)
    rows = []
    for level in args.levels:
        result = measure(client, scorer, level, work[: max(level * args.requests_per_client, 4)])
        rows.append((level, result))
        print(level, result, file=sys.stderr, flush=True)
    lines = [
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, engine {scorer.backend_name} "
        f"({scorer.backend.description}); 20 FAQ answers per request; baseline in the same run.",
        "",
        "| concurrent requests | requests | pairs/s | vs the first level | p50 | p95 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for level, r in rows:
        lines.append(
            f"| {level} | {r['requests']} | {r['pairs_s']:.1f} | {r['pairs_s'] / rows[0][1]['pairs_s']:.2f}× | "
            f"{r['p50']:.2f} s | {r['p95']:.2f} s |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report)


if __name__ == "__main__":
    main()
