"""What a support agent waits for on this CPU: 20 FAQ answers, the app's engine vs plain transformers.

    .venv/bin/python benchmarks/bench_cpu.py                  # this machine as it is
    .venv/bin/python benchmarks/bench_cpu.py --emulate-avx2   # also: the same machine limited to AVX2
    .venv/bin/python benchmarks/bench_cpu.py --quick          # one timed run per pipeline

Model: random weights with exactly Qwen3-0.6B's shape (``qwen3-0.6b-shape``): it costs what the
real Qwen3-Reranker-0.6B costs. Workload: a customer question and the 20 answers keyword search
picks from a bundled FAQ base (the desk's default top K), in English and in Chinese. Every timed
request starts cold (score cache and vLLM prefix cache emptied), so only sharing *within* a
request counts.

Pipelines, each in its own process (so start-up and peak memory are its own), all in the dtype the
app picks on this CPU (``--dtype auto``: bf16 with native bf16 matmuls, else fp32):
  hf-plain      baseline: plain batched transformers (left padding, ``logits_to_keep=1``)
  transformers  the app's transformers engine (shared-prefix KV cache): what ``auto`` falls back to
  ours          the app's default path, through the REST API: ``POST /v1/rerank`` on ``load_scorer()``
                (vLLM in-process, KV cache sized from the model), plus the desk's FAQ stream:
                time to the first rows on screen, first scores, final table
  ours-fp32     ``ours`` in fp32, for its memory (on a bf16 machine; skipped where fp32 is the pick)
  ours-before   ``ours`` with the defaults before issue 20 (8,192-token pairs, KV cache for 2 of them,
                desk batches of 2, 4, 8, 16, no warm-up): the baseline for memory, start-up and the desk

``ours`` starts as the app does (load, then warm up), then times the desk's first FAQ query after
start, then alternates the desk (click to final table) and one ``POST /v1/faq/search`` of the same
question, so that their ratio is measured under the same load.

Also measured in this run: the machine's matmul peak in that dtype. "Share of peak" counts only
the tokens that must be computed (each answer plus the prompt's suffix; the shared system prompt,
instruction and question are computed once per request) and divides by our latency.
The result is appended to benchmarks/results.md under this machine's kind; older rows stay.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = {
    "en": "My package still hasn't shipped after three days, what is going on?",
    "zh": "我的订单三天了还显示待发货，怎么回事？",
}
TOP_K = 20
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def workload(lang: str) -> tuple[str, list[str]]:
    """The question and the answers of its top-20 keyword matches in the bundled base."""
    from reranker.knowledge.bases import bundled_bases, load_faq
    from reranker.retrieval.keyword import search_base

    path = next(p for p in bundled_bases().values() if p.name.startswith(lang))
    hits = search_base(load_faq(path), QUESTIONS[lang], top_k=TOP_K)
    return QUESTIONS[lang], [hit.entry.text for hit in hits]


def cpu_kind() -> dict[str, object]:
    import torch

    from reranker.engine.backends.dtypes import cpu_supports_bf16, resolve_torch_dtype

    return {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "bf16_native": cpu_supports_bf16(),
        "app_dtype": str(resolve_torch_dtype(None, "cpu")).removeprefix("torch."),
    }


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


# ------------------------------------------------------------------------------------------------
# Workers: one pipeline per process, one JSON line on stdout.


def hf_plain(model_dir: Path, dtype: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from reranker.engine.prompt import PromptEncoder

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    encoder = PromptEncoder(tokenizer)
    yes, no = tokenizer.convert_tokens_to_ids(["yes", "no"])
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()

    @torch.inference_mode()
    def score(query: str, docs: list[str], batch_size: int = 16) -> list[float]:
        ids = [p.token_ids for p in encoder.encode(query, docs)]
        scores: list[float] = []
        for start in range(0, len(ids), batch_size):
            batch = tokenizer.pad({"input_ids": ids[start : start + batch_size]}, return_tensors="pt")
            logits = model(**batch, logits_to_keep=1).logits[:, -1]
            scores += torch.softmax(logits[:, [no, yes]].float(), dim=-1)[:, 1].tolist()
        return scores

    return score


def app_scorer(model_dir: Path, backend: str, dtype: str, **settings):
    from reranker import load_scorer

    scorer = load_scorer(model_dir, backend=backend, dtype=dtype, **settings)  # type: ignore[arg-type]
    print(f"{backend}: {scorer.backend_name} ({scorer.backend.description})", file=sys.stderr)

    def score(query: str, docs: list[str]) -> list[float]:
        scorer.reset_caches()
        return scorer.score(query, docs)

    score.scorer = scorer  # type: ignore[attr-defined]
    return score


def through_the_api(scorer):
    """``POST /v1/rerank`` on an in-process FastAPI app (what every client of the desk pays)."""
    from fastapi.testclient import TestClient

    from reranker.server.api import create_api

    client = TestClient(create_api(lambda: scorer))

    def score(query: str, docs: list[str]) -> list[float]:
        scorer.reset_caches()
        response = client.post(
            "/v1/rerank", json={"query": query, "documents": docs, "return_documents": False}
        )
        response.raise_for_status()
        results = sorted(response.json()["results"], key=lambda r: r["index"])
        return [r["relevance_score"] for r in results]

    return score


def make_desk(scorer):
    import tempfile

    from reranker.desk.desk import Desk
    from reranker.knowledge.bases import bundled_bases

    return Desk(scorer, export_dir=Path(tempfile.mkdtemp()), bases=bundled_bases())


def base_name(desk, lang: str) -> str:
    return next(n for n, p in desk.bases.paths.items() if p.name.startswith(lang))


def desk_once(desk, lang: str) -> dict[str, float]:
    """One FAQ-mode query, top 20, cold: seconds to the first rows, the first scores, the final table.

    Run in a worker thread, as Gradio runs the desk (and FastAPI the REST routes).
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_desk_once, desk, lang).result()


def _desk_once(desk, lang: str) -> dict[str, float]:
    desk.scorer.reset_caches()
    base = desk.select_base(base_name(desk, lang))
    began, marks = time.perf_counter(), {}
    for result in desk.rank_faq_stream(QUESTIONS[lang], None, base, top_k=TOP_K):
        now = time.perf_counter() - began
        marks.setdefault("first_rows_s", now)
        if result.scored and "first_scores_s" not in marks:
            marks["first_scores_s"] = now
        marks["final_s"] = now
    return marks


def faq_search_once(client, desk, lang: str) -> float:
    """One ``POST /v1/faq/search`` of the same question, cold: seconds to the answer."""
    desk.scorer.reset_caches()
    began = time.perf_counter()
    response = client.post("/v1/faq/search", json={"query": QUESTIONS[lang], "base": base_name(desk, lang),
                                                   "top_k": TOP_K})  # fmt: skip
    response.raise_for_status()
    return time.perf_counter() - began


def desk_timeline(scorer, lang: str, repeats: int) -> dict[str, float]:
    """The desk's FAQ stream and ``/v1/faq/search`` of the same question, alternated; medians."""
    from fastapi.testclient import TestClient

    from reranker.server.api import create_api

    desk = make_desk(scorer)
    client = TestClient(create_api(lambda: scorer, desk=desk))
    runs, searches = [], []
    for _ in range(max(repeats, 3)):
        runs.append(desk_once(desk, lang))
        searches.append(faq_search_once(client, desk, lang))
    marks = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    marks["faq_search_s"] = statistics.median(searches)
    marks["ratios"] = [run["final_s"] / search for run, search in zip(runs, searches)]
    return marks


def before_issue_20(model_dir: Path, dtype: str):
    """The app's engine with the defaults before issue 20: 8,192-token pairs, KV cache for 2."""
    import json as json_

    import reranker.desk.desk
    from reranker.engine.backends.vllm import CPU_PREFIX_BLOCK_SIZE, GIB, kv_bytes_per_token

    reranker.desk.desk.FIRST_BATCH, reranker.desk.desk.MAX_BATCH = 2, 16  # batches of 2, 4, 8, 16
    config = json_.loads((model_dir / "config.json").read_text())
    tokens = 2 * (8192 // CPU_PREFIX_BLOCK_SIZE + 1) * CPU_PREFIX_BLOCK_SIZE
    kv_gib = tokens * kv_bytes_per_token(config, 2 if dtype == "bfloat16" else 4) / GIB
    return app_scorer(model_dir, "auto", dtype, max_length=8192, kv_cache_gib=kv_gib)


def run_worker(pipeline: str, model_dir: Path, dtype: str, repeats: int) -> dict[str, object]:
    started = time.perf_counter()
    engine = None
    report: dict[str, object] = {"pipeline": pipeline, "dtype": dtype}
    if pipeline == "hf-plain":
        score = hf_plain(model_dir, dtype)
    elif pipeline == "transformers":
        score = app_scorer(model_dir, "transformers", dtype)
    else:
        if pipeline == "ours-before":
            engine = before_issue_20(model_dir, dtype).scorer  # type: ignore[attr-defined]
        else:
            engine = app_scorer(model_dir, "auto", dtype).scorer  # type: ignore[attr-defined]
            report["warm_up_s"] = engine.warm_up()  # as the app's loader does before it is ready
        report["loaded_s"] = time.perf_counter() - started
        report["first_desk"] = desk_once(make_desk(engine), "en")  # the first query after start
        score = through_the_api(engine)
    score(*workload("en"))  # the first call pays one-off costs
    report["startup_s"] = time.perf_counter() - started
    for lang in ("en", "zh"):
        query, docs = workload(lang)
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            score(query, docs)
            times.append(time.perf_counter() - began)
        report[lang] = statistics.median(times)
    if engine is not None:
        report["engine"] = f"{engine.backend_name} ({engine.backend.description})"
        report["fallback"] = engine.fallback_cause
        report["desk"] = {lang: desk_timeline(engine, lang, repeats) for lang in ("en", "zh")}
    report["peak_rss_gb"] = peak_rss_gb()
    report.update(cpu_kind())
    return report


# ------------------------------------------------------------------------------------------------
# The parent: matmul peak, FLOPs, spawning, the report.


def matmul_peak_gflops(dtype: str, seconds: float = 2.0) -> float:
    """Best sustained GEMM rate in ``dtype`` on the model's own shapes, as ``F.linear`` runs them.

    Weights are laid out as a linear layer's (out x in): oneDNN's fast bf16 kernels need that
    layout; a plain ``a @ b`` with b (in x out) ran 5x slower on an AVX-512 bf16 CPU.
    """
    import torch

    best = 0.0
    for tokens, inner, outer in ((2048, 1024, 3072), (512, 1024, 3072), (512, 3072, 1024)):
        x = torch.randn(tokens, inner, dtype=getattr(torch, dtype))
        weight = torch.randn(outer, inner, dtype=getattr(torch, dtype))
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            for _ in range(3):
                torch.nn.functional.linear(x, weight)
            best = max(best, 3 * 2 * tokens * inner * outer / (time.perf_counter() - began) / 1e9)
    return best


def required_flops(model_dir: Path, query: str, docs: list[str]) -> float:
    """FLOPs that must be computed: each answer + suffix, attending to the shared prefix once computed.

    The shared prefix (system prompt, instruction, question) is counted once per request.
    """
    from transformers import AutoConfig, AutoTokenizer

    from reranker.engine.backends.hf import longest_common_prefix
    from reranker.engine.prompt import PromptEncoder

    config = AutoConfig.from_pretrained(model_dir)
    hidden, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    q_dim = config.num_attention_heads * config.head_dim
    kv_dim = config.num_key_value_heads * config.head_dim
    per_token = 2 * layers * (hidden * (q_dim + 2 * kv_dim) + q_dim * hidden + 3 * hidden * inter)
    prompts = [
        p.token_ids for p in PromptEncoder(AutoTokenizer.from_pretrained(model_dir)).encode(query, docs)
    ]
    shared = longest_common_prefix(prompts)
    total = shared * per_token + 2 * layers * q_dim * shared * shared
    for prompt in prompts:
        own = len(prompt) - shared  # attends to the prefix and, causally, to itself
        total += own * per_token + 2 * 2 * layers * q_dim * own * (shared + own / 2)
    return total


def spawn(pipeline: str, model_dir: Path, dtype: str, repeats: int, env: dict[str, str]) -> dict:
    command = [sys.executable, __file__, "--worker", pipeline, "--model", str(model_dir),
               "--dtype", dtype, "--repeats", str(repeats)]  # fmt: skip
    print(f"running {pipeline} ({dtype}) ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, **env})
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{pipeline} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    return next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")), "unknown CPU")  # fmt: skip


def machine_line() -> str:
    import torch

    return (
        f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"
    )


def measure_kind(model_dir: Path, repeats: int, env: dict[str, str], label: str) -> str:
    """Every pipeline on one CPU kind (this machine, or this machine limited by ``env``)."""
    kind = json.loads(subprocess.run(
        [sys.executable, __file__, "--kind"], capture_output=True, text=True, check=True, env={**os.environ, **env}
    ).stdout)  # fmt: skip
    dtype = kind["app_dtype"]
    print(
        f"{label}: capability {kind['capability']}, native bf16 {kind['bf16_native']}, dtype {dtype}",
        file=sys.stderr,
    )
    peak_before = json.loads(subprocess.run([sys.executable, __file__, "--peak", dtype], capture_output=True,
                                            text=True, check=True, env={**os.environ, **env}).stdout)  # fmt: skip
    reports = {
        name: spawn(name, model_dir, dtype, repeats, env) for name in ("hf-plain", "transformers", "ours")
    }
    if dtype != "float32":
        reports["ours-fp32"] = spawn("ours", model_dir, "float32", repeats, env)
    reports["ours-before"] = spawn("ours-before", model_dir, dtype, repeats, env)
    peak_after = json.loads(subprocess.run([sys.executable, __file__, "--peak", dtype], capture_output=True,
                                           text=True, check=True, env={**os.environ, **env}).stdout)  # fmt: skip
    peak = max(peak_before, peak_after)  # a job that stole a core during one measurement lowers it
    kind["load"] = "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())
    flops = {lang: required_flops(model_dir, *workload(lang)) for lang in ("en", "zh")}
    return render(label, kind, peak, reports, flops)


def render(label: str, kind: dict, peak: float, reports: dict[str, dict], flops: dict[str, float]) -> str:
    ours = reports["ours"]
    lines = [
        f"### {label}: {kind['capability']}, {kind['app_dtype']} ({dt.datetime.now():%Y-%m-%d %H:%M})",
        "",
        f"{machine_line()}. `torch.backends.cpu.get_cpu_capability()` = {kind['capability']}, native bf16: "
        f"{kind['bf16_native']}, so the app runs {kind['app_dtype']}. Engine of `ours`: {ours['engine']}"
        + (f"; FELL BACK: {ours['fallback']}" if ours.get("fallback") else "")
        + f". {kind['app_dtype']} matmul peak measured in this run: {peak:.0f} GFLOP/s. Load average "
        f"(1/5/15 min) at the end: {kind['load']} on {os.cpu_count()} cores.",
        "",
        "| 20 FAQ answers | pipeline | dtype | latency | ours is faster by | ours: share of peak |",
        "|---|---|---|---:|---:|---:|",
    ]
    for lang in ("en", "zh"):
        for name, report in reports.items():
            latency = report[lang]
            ratio = f"{latency / ours[lang]:.2f}×" if not name.startswith("ours") else "—"
            share = ""
            if name == "ours":
                gflops = flops[lang] / latency / 1e9
                share = f"{gflops:.0f} GFLOP/s ({gflops / peak:.0%})"
            lines.append(f"| {lang} | {name} | {report['dtype']} | {latency:.2f} s | {ratio} | {share} |")
    lines += [
        "",
        "| desk, FAQ mode, top 20 | pipeline | first rows on screen | first scores | final table "
        "| one `/v1/faq/search` | desk / search (median; each pair) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for name, report in reports.items():
        if "first_desk" not in report:
            continue
        first = report["first_desk"]
        lines.append(f"| en, first query after start | {name} | {first['first_rows_s']:.2f} s | "
                     f"{first['first_scores_s']:.2f} s | {first['final_s']:.2f} s | | |")  # fmt: skip
        for lang, marks in report["desk"].items():
            each = ", ".join(f"{r:.2f}" for r in marks["ratios"])
            lines.append(
                f"| {lang} | {name} | {marks['first_rows_s']:.2f} s | {marks['first_scores_s']:.2f} s | "
                f"{marks['final_s']:.2f} s | {marks['faq_search_s']:.2f} s | "
                f"{statistics.median(marks['ratios']):.2f}× ({each}) |"
            )
    lines += ["", "| pipeline | dtype | start-up (load, warm-up, first call) | warm-up | peak RSS |",
              "|---|---|---:|---:|---:|"]  # fmt: skip
    for name, r in reports.items():
        warm_up = f"{r['warm_up_s']:.1f} s" if "warm_up_s" in r else "—"
        lines.append(
            f"| {name} | {r['dtype']} | {r['startup_s']:.1f} s | {warm_up} | {r['peak_rss_gb']:.2f} GB |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per workload (median)")
    parser.add_argument("--quick", action="store_true", help="one timed run per workload")
    parser.add_argument(
        "--emulate-avx2",
        action="store_true",
        help="also run limited to AVX2 kernels (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dtype", help=argparse.SUPPRESS)
    parser.add_argument("--kind", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--peak", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kind:
        print(json.dumps(cpu_kind()))
        return
    if args.peak:
        print(json.dumps(matmul_peak_gflops(args.peak)))
        return
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.model, args.dtype, args.repeats)))
        return

    from reranker.testing.make_model import make_model

    model_dir = make_model("qwen3-0.6b-shape")
    repeats = 1 if args.quick else args.repeats
    sections = [measure_kind(model_dir, repeats, {}, cpu_name())]
    if args.emulate_avx2:
        sections.append(
            measure_kind(model_dir, repeats, AVX2_ENV, f"{cpu_name()} limited to AVX2 (emulated)")
        )
    report = "\n".join(sections)
    print(report)
    with args.out.open("a", encoding="utf-8") as handle:
        handle.write("\n" + report)


if __name__ == "__main__":
    main()
