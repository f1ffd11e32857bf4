"""Where one 20-answer request's time goes: torch.profiler over ``Scorer.score`` on the app's engine.

    .venv/bin/python benchmarks/profile_request.py            # prints the breakdown; --out appends it

Model: random weights with exactly Qwen3-0.6B's shape on the app's default engine (vLLM in-process,
eager, the dtype ``auto`` picks), warmed up as the app's loader does. Workload: the Chinese question
of ``bench_cpu.py`` and the 20 answers keyword search picks for it; caches emptied before each run.
Every operator's *self* CPU time is put in one group by its name; what no operator accounts for
is Python: vLLM's scheduler, input preparation, output processing and our own code.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: (group, pattern over the operator's name), first match wins.
GROUPS = (
    ("GEMMs (linear layers, oneDNN)", r"onednn_mm|weight_packed_linear|aten::(linear|addmm|mm|matmul|bmm)$"),
    ("attention (kernel + KV cache writes)", r"attention|attn|paged|sdpa|flash|varlen|reshape_and_cache"),
    ("RoPE", r"rotary|rope"),
    # vLLM 0.32 runs RMSNorm as plain torch ops on CPU (its C kernel is registered for GPUs only):
    (
        "norms (RMSNorm as eager ops: pow, mean/sum, rsqrt)",
        r"rms_norm|layer_norm|aten::(pow|sum|mean|rsqrt)$",
    ),
    ("elementwise mul/add (norm scaling, residuals, SiLU x up)", r"aten::(mul|add|add_|mul_)$"),
    ("SiLU", r"silu|gelu|act_and_mul"),
    ("copies and casts (norms' fp32 round trips, layouts)", r"copy_|aten::to$|_to_copy|contiguous|clone"),
    ("pooling + yes/no head", r"softmax|sigmoid|pool|logsumexp"),
)


def group_of(name: str) -> str:
    for group, pattern in GROUPS:
        if re.search(pattern, name, re.IGNORECASE):
            return group
    return "other operators"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="profiled requests (the median one is shown)")
    parser.add_argument("--out", type=Path, help="append the breakdown to this file")
    args = parser.parse_args()

    import torch
    from bench_cpu import workload
    from torch.profiler import ProfilerActivity, profile

    from reranker import load_scorer
    from reranker.testing.make_model import make_model

    scorer = load_scorer(make_model("qwen3-0.6b-shape"))
    scorer.warm_up()
    query, docs = workload("zh")
    runs = []
    for _ in range(args.repeats):
        scorer.reset_caches()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            began = time.perf_counter()
            scorer.score(query, docs)
            wall = time.perf_counter() - began
        groups: dict[str, float] = {}
        for event in prof.key_averages():
            groups[group_of(event.key)] = (
                groups.get(group_of(event.key), 0.0) + event.self_cpu_time_total / 1e6
            )
        runs.append((wall, groups))
    wall, groups = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
    # Self times are summed over threads; the engine runs ops on one thread (OpenMP inside them).
    in_operators = sum(groups.values())
    python = max(0.0, wall - in_operators)
    lines = [
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, engine {scorer.backend_name} "
        f"({scorer.backend.description}); one request of 20 answers (zh), median of {args.repeats} profiled "
        f"runs: {wall:.2f} s (walls: {', '.join(f'{w:.2f}' for w, _ in runs)} s; median unprofiled run "
        f"{statistics.median(unprofiled(scorer, query, docs)):.2f} s).",
        "",
        "| where | seconds | share |",
        "|---|---:|---:|",
    ]
    for name, seconds in sorted(groups.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds:.3f} | {seconds / wall:.0%} |")
    lines.append(
        f"| Python: scheduler, input/output processing, our code (wall - operators) | {python:.3f} | {python / wall:.0%} |"
    )
    report = "\n".join(lines) + "\n"
    print(report)
    top = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:15]
    print(
        "\n".join(f"{e.key[:70]:70s} {e.self_cpu_time_total / 1e6:8.3f} s  x{e.count}" for e in top),
        file=sys.stderr,
    )
    if args.out:
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report)


def unprofiled(scorer, query: str, docs: list[str], repeats: int = 3) -> list[float]:
    times = []
    for _ in range(repeats):
        scorer.reset_caches()
        began = time.perf_counter()
        scorer.score(query, docs)
        times.append(time.perf_counter() - began)
    return times


if __name__ == "__main__":
    main()
