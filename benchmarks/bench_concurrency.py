"""Agents at once: pairs/s and latency of ``POST /v1/rerank`` at 1, 4 and 16 concurrent requests.

    .venv/bin/python benchmarks/bench_concurrency.py --answers 3   # small requests: where sharing pays
    .venv/bin/python benchmarks/bench_concurrency.py               # the desk's 20 answers; --out appends

Model: random weights with exactly Qwen3-0.6B's shape, on the app's default engine (``load_scorer()``:
vLLM in-process, the dtype ``auto`` picks), warmed up as the app's loader does. Each request is a
different question of the bundled English query set with the ``--answers`` (20) answers keyword
search picks for it, so the score cache answers nothing. Each level runs twice in the same run:
requests taking turns alone (``merge_tokens`` 0, one engine call each), then as the app runs them
(waiting requests of at most ``MERGE_TOKENS`` prompt tokens in all share the next engine call); the
ratios are against one client and against taking turns at the same level. At one client both
rows run the same code, so their difference is this machine's noise.

``--merged`` also measures, at the engine, the requests of each level scored one engine call each
against all of them in one call, alternated, medians of ``--rounds``: for 20-answer requests on the
Intel Xeon (bf16, vLLM 0.32, quiet) one call of 4 was 0.99-1.07x and of 16 1.00-1.01x the pairs/s
of taking turns (one such request already keeps 2 cores busy), which is why the app shares calls
only up to one engine step of tokens (see benchmarks/results.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOP_K = 20
LEVELS = (1, 4, 16)


def requests_for(count: int, answers: int = TOP_K) -> list[tuple[str, list[str]]]:
    """``count`` (question, top-``answers`` answers) requests from the bundled English query set."""
    from reranker.knowledge.bases import bundled_bases, load_faq
    from reranker.knowledge.labelled import bundled_query_sets, load_queries
    from reranker.retrieval.keyword import search_base

    base = load_faq(next(p for p in bundled_bases().values() if p.name.startswith("en")))
    queries = load_queries(next(p for p in bundled_query_sets().values() if p.name.startswith("en")))
    questions = [q.query for q in queries][:count]
    return [(q, [hit.entry.text for hit in search_base(base, q, top_k=answers)]) for q in questions]


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


def merged_vs_turns(scorer, work: list[tuple[str, list[str]]], rounds: int) -> dict[str, float]:
    """Engine time for ``work``: one engine call per request vs one call for all, alternated."""
    from reranker.engine.prompt import resolve_instruction, window_prompts

    prompts = []
    for query, docs in work:
        encoded = scorer.encoder.encode_windows(query, docs, resolve_instruction(None))
        prompts.append(window_prompts(encoded))
    times: dict[str, list[float]] = {"turns": [], "merged": []}
    for _ in range(rounds):
        for mode in times:
            scorer.reset_caches()
            began = time.perf_counter()
            if mode == "turns":
                for own in prompts:
                    scorer.backend.score_token_ids(own)
            else:
                scorer.backend.score_token_ids([p for own in prompts for p in own])
            times[mode].append(time.perf_counter() - began)
    turns, merged = statistics.median(times["turns"]), statistics.median(times["merged"])
    return {"turns": turns, "merged": merged, "ratio": turns / merged, "each": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-client", type=int, default=2, help="requests each client sends")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS), help="concurrent requests")
    parser.add_argument(
        "--merged", action="store_true", help="also: one engine call per level vs taking turns"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds of --merged (median)")
    parser.add_argument("--answers", type=int, default=TOP_K, help="answers per request (keyword search's top N)")
    parser.add_argument("--out", type=Path, help="append the table to this file")
    args = parser.parse_args()

    import torch
    from fastapi.testclient import TestClient

    from reranker import load_scorer
    from reranker.engine.scorer import MERGE_TOKENS
    from reranker.server.api import create_api
    from reranker.testing.make_model import make_model

    scorer = load_scorer(make_model("qwen3-0.6b-shape"))
    scorer.warm_up()
    client = TestClient(create_api(lambda: scorer))
    work = requests_for(max(args.levels) * args.requests_per_client, args.answers)
    rows = []
    for level in args.levels:
        for merge_tokens in (0, MERGE_TOKENS):  # each level: taking turns alone, then sharing calls
            scorer.merge_tokens = merge_tokens
            calls_before = scorer._turns.calls, scorer._turns.merged_calls
            result = measure(client, scorer, level, work[: max(level * args.requests_per_client, 4)])
            result["calls"] = scorer._turns.calls - calls_before[0]
            result["shared"] = scorer._turns.merged_calls - calls_before[1]
            rows.append((level, merge_tokens, result))
            print(level, merge_tokens, result, file=sys.stderr, flush=True)
    scorer.merge_tokens = MERGE_TOKENS
    load_after = "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())
    lines = [
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores, engine "
        f"{scorer.backend_name} ({scorer.backend.description}); {args.answers} FAQ answers per request; "
        f"baselines in the same run. Load average (1/5/15 min) after the REST rows: {load_after}.",
        "",
        "| concurrent requests | waiting requests | requests | engine calls (shared) | pairs/s | vs one client "
        "| vs taking turns | p50 | p95 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    alone = {level: r for level, merge, r in rows if merge == 0}
    for level, merge, r in rows:
        how = "take turns" if merge == 0 else f"share a call (≤ {merge} tokens)"
        lines.append(
            f"| {level} | {how} | {r['requests']} | {r['calls']} ({r['shared']}) | {r['pairs_s']:.1f} | "
            f"{r['pairs_s'] / rows[0][2]['pairs_s']:.2f}× | {r['pairs_s'] / alone[level]['pairs_s']:.2f}× | "
            f"{r['p50']:.2f} s | {r['p95']:.2f} s |"
        )
    if args.merged:
        lines += [
            "",
            "| requests at once (engine level) | one engine call each (taking turns) | all in one engine call "
            "| pairs/s: one call vs turns |",
            "|---:|---:|---:|---:|",
        ]
        for level in args.levels:
            if level == 1:
                continue
            m = merged_vs_turns(scorer, work[:level], args.rounds)
            print(level, m, file=sys.stderr, flush=True)
            each = {mode: ", ".join(f"{t:.2f}" for t in m["each"][mode]) for mode in ("turns", "merged")}
            lines.append(
                f"| {level} | {m['turns']:.2f} s ({each['turns']}) | {m['merged']:.2f} s ({each['merged']}) "
                f"| {m['ratio']:.2f}× |"
            )
        lines.append(f"\nLoad average at the end: {'{:.1f} / {:.1f} / {:.1f}'.format(*os.getloadavg())}.")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report)


if __name__ == "__main__":
    main()
