"""The desk's final table against one ``POST /v1/faq/search`` of the same question, with and without
the one-call rule (``reranker.desk.desk.QUICK_S``), alternated in one process.

With the rule off the desk always scores 2 answers first (early scores), then the rest; with it on, a
ranking the engine is expected to finish within ``QUICK_S`` seconds is scored in one call. Uses the
random-weight model of Qwen3-0.6B's exact shape (the real model's cost), bf16 where the CPU has it.

    python benchmarks/bench_quick_rule.py [--repeats 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_cpu
import torch
from fastapi.testclient import TestClient

import reranker.desk.desk as desk_module
from reranker.server.api import create_api
from reranker.testing.make_model import make_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    dtype = "bfloat16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"
    print(f"cpu {torch.backends.cpu.get_cpu_capability()}, dtype {dtype}, load average {os.getloadavg()[0]:.1f}")
    engine = bench_cpu.app_scorer(make_model("qwen3-0.6b-shape"), "auto", dtype).scorer
    print(f"backend {engine.backend_name}, warm-up {engine.warm_up():.2f} s")
    desk = bench_cpu.make_desk(engine)
    client = TestClient(create_api(lambda: engine, desk=desk))
    runs: dict[tuple[float, str], list[tuple[float, float, float]]] = {}
    rule = desk_module.QUICK_S
    for _ in range(args.repeats):
        for quick in (0.0, rule):
            desk_module.QUICK_S = quick
            for lang in ("en", "zh"):
                marks = bench_cpu.desk_once(desk, lang)
                search = bench_cpu.faq_search_once(client, desk, lang)
                runs.setdefault((quick, lang), []).append((marks["final_s"], marks["first_scores_s"], search))
    desk_module.QUICK_S = rule
    for (quick, lang), timed in sorted(runs.items()):
        label = "early scores (rule off)" if quick == 0 else f"one-call rule ({quick:g} s)"
        print(f"{lang} {label}: first scores {statistics.median(r[1] for r in timed):.2f} s, final "
              f"{statistics.median(r[0] for r in timed):.2f} s, /v1/faq/search {statistics.median(r[2] for r in timed):.2f} s, "
              f"desk / search {statistics.median(r[0] / r[2] for r in timed):.2f}x")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
