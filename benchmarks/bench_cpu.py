"""What a support agent waits for on this CPU: 20 FAQ answers, the app's engine vs plain transformers.

    .venv/bin/python benchmarks/bench_cpu.py                  # this machine as it is
    .venv/bin/python benchmarks/bench_cpu.py --emulate-avx2   # also: the same machine limited to AVX2
    .venv/bin/python benchmarks/bench_cpu.py --avx2-only      # only the run limited to AVX2
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
  openvino      the peer an Intel shop would try: optimum-intel's OpenVINO runtime, the model exported
                as a sequence classifier (its yes/no rows as the head), bf16 precision hint where the
                app runs bf16, batches of 16 sorted by length. Optional: it runs in its own venv
                (``.cache/venv-openvino``, made by ``--install-openvino``); without it the row says skipped.

    .venv/bin/python benchmarks/bench_cpu.py --install-openvino   # once: the OpenVINO peer's venv
    .venv/bin/python benchmarks/bench_cpu.py --startup            # start-up and peak memory only

``--startup`` starts the app's engine in fresh processes, in turn as the app does (``ours``),
without its start-up levers (``ours-slow-start``: the app builds its tokenizer from the files, vLLM
reads them again three times, deep-copies the result twice, and collects garbage over the whole
heap), without one of them (``ours-parsed-tokenizer``: no built tokenizer kept between starts, as
on a first start; ``ours-deep-copies``: vLLM's renderer deep-copies the tokenizer for its threads)
and with vLLM's own weight loading (``ours-vllm-loader``: the
checkpoint memory-mapped, the embedding's GEMM copy kept), in each dtype: load, warm-up and first
call, peak RSS, then a few requests to check that the speed is the same.

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
#: AVX2-only kernels for torch's own ops, oneDNN (vLLM's and torch's bf16/packed GEMMs) and MKL (torch's
#: fp32 matmuls: without MKL's limit the baselines kept AVX-512 while vLLM's oneDNN GEMMs had AVX2).
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
#: The OpenVINO peer's own venv (git-ignored), so its packages never meet the app's.
OPENVINO_VENV = ROOT / ".cache" / "venv-openvino"
OPENVINO_CACHE = ROOT / ".cache" / "openvino"
#: ``--startup``'s columns: (report key, unit, decimals).
STARTUP_COLUMNS = (("load_s", "s", 1), ("tokenizer_s", "s", 2), ("engine_s", "s", 1), ("warm_up_s", "s", 1), ("first_call_s", "s", 2), ("startup_s", "s", 1),
                   ("peak_rss_startup_gb", "GiB", 2), ("peak_rss_gb", "GiB", 2), ("zh", "s", 2))  # fmt: skip


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
    """Peak resident memory of this process (``ru_maxrss``, KiB) in GiB, as every row here gives it."""
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


def openvino_seq_cls(model_dir: Path, yes: int, no: int) -> Path:
    """The reranker as a sequence classifier (head: its "no" and "yes" rows), exported to OpenVINO IR once."""
    import torch
    from optimum.intel import OVModelForSequenceClassification
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

    ir_dir = OPENVINO_CACHE / f"{model_dir.name}-seq-cls-ir"
    if (ir_dir / "openvino_model.xml").is_file():
        return ir_dir  # exported by an earlier run
    checkpoint = OPENVINO_CACHE / f"{model_dir.name}-seq-cls"
    causal = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    config = AutoConfig.from_pretrained(model_dir, num_labels=2)
    classifier = AutoModelForSequenceClassification.from_config(config, dtype=torch.float32)
    classifier.model.load_state_dict(causal.model.state_dict())
    classifier.score.weight.data = causal.lm_head.weight.data[[no, yes]].clone()
    classifier.save_pretrained(checkpoint)
    OVModelForSequenceClassification.from_pretrained(checkpoint, export=True, compile=False).save_pretrained(
        ir_dir
    )
    return ir_dir


def openvino(model_dir: Path, dtype: str, inputs: dict):
    """optimum-intel's OpenVINO runtime on the exported classifier: right padding, batches of 16 by length."""
    import numpy as np
    from optimum.intel import OVModelForSequenceClassification

    began = time.perf_counter()
    exported = (OPENVINO_CACHE / f"{model_dir.name}-seq-cls-ir" / "openvino_model.xml").is_file()
    ir_dir = openvino_seq_cls(model_dir, inputs["yes"], inputs["no"])
    inputs["export_s"] = None if exported else time.perf_counter() - began
    hint = {"INFERENCE_PRECISION_HINT": "bf16" if dtype == "bfloat16" else "f32"}
    model = OVModelForSequenceClassification.from_pretrained(ir_dir, ov_config=hint)
    pad = model.config.pad_token_id

    def score(prompts: list[list[int]], batch_size: int = 16) -> list[float]:
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        scores = [0.0] * len(prompts)
        for start in range(0, len(order), batch_size):
            batch = [prompts[i] for i in order[start : start + batch_size]]
            width = max(map(len, batch))
            ids = np.array([p + [pad] * (width - len(p)) for p in batch], dtype=np.int64)
            mask = np.array([[1] * len(p) + [0] * (width - len(p)) for p in batch], dtype=np.int64)
            logits = np.asarray(model(input_ids=ids, attention_mask=mask).logits, dtype=np.float64)
            yes = 1 / (1 + np.exp(logits[:, 0] - logits[:, 1]))  # softmax over (no, yes)
            for i, value in zip(order[start : start + batch_size], yes):
                scores[i] = float(value)
        return scores

    return score


def openvino_inputs(model_dir: Path) -> dict:
    """What the OpenVINO worker scores, as the app builds it: each language's prompt token ids."""
    from transformers import AutoTokenizer

    from reranker.engine.prompt import PromptEncoder

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    encoder = PromptEncoder(tokenizer)
    yes, no = tokenizer.convert_tokens_to_ids(["yes", "no"])
    prompts = {lang: [p.token_ids for p in encoder.encode(*workload(lang))] for lang in QUESTIONS}
    return {"yes": yes, "no": no, "prompts": prompts}


def install_openvino() -> None:
    """Make the OpenVINO peer's venv: the app's torch (its CPU build) and optimum-intel[openvino]."""
    import torch

    python = Path(sys.base_prefix) / "bin" / "python3"
    if not (OPENVINO_VENV / "bin" / "python").exists():
        subprocess.run([str(python), "-m", "venv", str(OPENVINO_VENV)], check=True)
    subprocess.run([str(OPENVINO_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    f"torch=={torch.__version__}", "optimum-intel[openvino]"], check=True)  # fmt: skip
    # As scripts/setup.sh does for the app: PyPI's torchvision is a CUDA build that breaks next to
    # torch+cpu ("operator torchvision::nms does not exist"), and transformers imports it when present.
    subprocess.run([str(OPENVINO_VENV / "bin" / "python"), "-m", "pip", "uninstall", "--quiet", "-y",
                    "torchvision", "torchaudio", "torchcodec"], check=False)  # fmt: skip
    print(f"OpenVINO peer installed in {OPENVINO_VENV}", file=sys.stderr)


def with_vllms_loader() -> None:
    """The app as before its start-up memory levers: vLLM's own weight loading (memory-mapped)."""
    import reranker.engine.backends.vllm

    reranker.engine.backends.vllm.register_weight_reader = lambda: "auto"


def with_slow_start() -> None:
    """The app as before its start-up levers: vLLM reads the tokenizer itself (three more times)
    and its garbage collections scan every object the imports made."""
    import contextlib

    import reranker.engine.backends.vllm

    reranker.engine.backends.vllm.tokenizer_loaded_once = lambda directory, tokenizer: (
        contextlib.nullcontext()
    )
    reranker.engine.backends.vllm.young_objects_only = contextlib.nullcontext


def with_parsed_tokenizer() -> None:
    """The app before its fourth start-up lever: the model's tokenizer is built from its files at
    every start (as on the first start after installing, or after the files change)."""
    import reranker.engine.load

    reranker.engine.load.cached_tokenizer = lambda directory, build, cache_dir=None: build(directory)


def with_deep_copies() -> None:
    """The app before its third start-up lever: vLLM's renderer deep-copies the tokenizer (a parse
    of its vocabulary each) for its thread pool."""
    import reranker.engine.backends.vllm

    reranker.engine.backends.vllm._sharing_class = lambda cls: cls


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


def run_openvino(model_dir: Path, dtype: str, repeats: int, inputs_file: Path) -> dict[str, object]:
    """The OpenVINO worker (runs in its own venv: nothing of the app is imported)."""
    import platform as platform_

    started = time.perf_counter()
    inputs = json.loads(inputs_file.read_text(encoding="utf-8"))
    score = openvino(model_dir, dtype, inputs)
    score(inputs["prompts"]["en"])  # the first call pays one-off costs
    report: dict[str, object] = {"pipeline": "openvino", "dtype": dtype, "export_s": inputs["export_s"],
                                 "startup_s": time.perf_counter() - started - (inputs["export_s"] or 0)}  # fmt: skip
    report["scores"] = {}
    for lang, prompts in inputs["prompts"].items():
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            report["scores"][lang] = score(prompts)
            times.append(time.perf_counter() - began)
        report[lang] = statistics.median(times)
    report["peak_rss_gb"] = peak_rss_gb()
    report["engine"] = f"OpenVINO {__import__('openvino').__version__} on Python {platform_.python_version()}"
    return report


def run_startup(pipeline: str, model_dir: Path, dtype: str, repeats: int) -> dict[str, object]:
    """Start the app's engine as the app does; the time of each phase and the peak RSS; then its speed."""
    started = time.perf_counter()
    if pipeline == "ours-vllm-loader":
        with_vllms_loader()
    elif pipeline == "ours-slow-start":
        with_slow_start()
        with_deep_copies()
        with_parsed_tokenizer()
    elif pipeline == "ours-deep-copies":
        with_deep_copies()
    elif pipeline == "ours-parsed-tokenizer":
        with_parsed_tokenizer()
    import reranker.engine.load
    from reranker import load_scorer

    phases = {"tokenizer_s": 0.0, "engine_s": 0.0}  # the two phases of the load the levers act on

    def timed(phase: str, step):
        def run(*args, **kwargs):
            began = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                phases[phase] += time.perf_counter() - began

        return run

    reranker.engine.load._load_tokenizer = timed("tokenizer_s", reranker.engine.load._load_tokenizer)
    reranker.engine.load._start_vllm = timed("engine_s", reranker.engine.load._start_vllm)
    scorer = load_scorer(model_dir, dtype=dtype)
    report: dict[str, object] = {
        "pipeline": pipeline,
        "dtype": dtype,
        "load_s": time.perf_counter() - started,
        **phases,
    }
    report["warm_up_s"] = scorer.warm_up()
    query, docs = workload("en")
    began = time.perf_counter()
    scorer.score(query, docs)
    report["first_call_s"] = time.perf_counter() - began
    report["startup_s"] = time.perf_counter() - started
    report["peak_rss_startup_gb"] = peak_rss_gb()
    query, docs = workload("zh")
    times = []
    for _ in range(max(repeats, 3)):
        scorer.reset_caches()
        began = time.perf_counter()
        scorer.score(query, docs)
        times.append(time.perf_counter() - began)
    report["zh"] = statistics.median(times)
    report["peak_rss_gb"] = peak_rss_gb()
    return report


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
    report["scores"] = {}
    for lang in ("en", "zh"):
        query, docs = workload(lang)
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            report["scores"][lang] = score(query, docs)
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


def spawn(pipeline: str, model_dir: Path, dtype: str, repeats: int, env: dict[str, str],
          python: str = sys.executable, extra: tuple[str, ...] = ()) -> dict:  # fmt: skip
    command = [python, __file__, "--worker", pipeline, "--model", str(model_dir),
               "--dtype", dtype, "--repeats", str(repeats), *extra]  # fmt: skip
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
    if (OPENVINO_VENV / "bin" / "python").exists():
        inputs = OPENVINO_CACHE / "inputs.json"
        inputs.parent.mkdir(parents=True, exist_ok=True)
        inputs.write_text(json.dumps(openvino_inputs(model_dir)), encoding="utf-8")
        reports["openvino"] = spawn("openvino", model_dir, dtype, repeats, env,
                                    python=str(OPENVINO_VENV / "bin" / "python"), extra=("--inputs", str(inputs)))  # fmt: skip
    else:
        print(
            f"openvino: skipped, not installed ({OPENVINO_VENV}: run with --install-openvino)",
            file=sys.stderr,
        )
    peak_after = json.loads(subprocess.run([sys.executable, __file__, "--peak", dtype], capture_output=True,
                                           text=True, check=True, env={**os.environ, **env}).stdout)  # fmt: skip
    peak = max(peak_before, peak_after)  # a job that stole a core during one measurement lowers it
    peaks = {"ours": peak}
    if "ours-fp32" in reports:  # the fp32 target (85%) is judged on the fp32 run too
        peaks["ours-fp32"] = json.loads(subprocess.run([sys.executable, __file__, "--peak", "float32"],
                                                       capture_output=True, text=True, check=True,
                                                       env={**os.environ, **env}).stdout)  # fmt: skip
    kind["load"] = "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())
    flops = {lang: required_flops(model_dir, *workload(lang)) for lang in ("en", "zh")}
    return render(label, kind, peaks, reports, flops)


def measure_startup(model_dir: Path, repeats: int) -> str:
    """``ours`` and each ``ours-…`` variant started in turn, ``repeats`` times, in
    each dtype; medians."""
    kind = json.loads(subprocess.run([sys.executable, __file__, "--kind"], capture_output=True, text=True,
                                     check=True).stdout)  # fmt: skip
    dtypes = [kind["app_dtype"]] + (["float32"] if kind["app_dtype"] != "float32" else [])
    pipelines = ("ours", "ours-parsed-tokenizer", "ours-deep-copies", "ours-slow-start", "ours-vllm-loader")
    loads = ["{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())]
    runs: dict[tuple[str, str], list[dict]] = {(p, d): [] for d in dtypes for p in pipelines}
    for _ in range(repeats):
        for dtype in dtypes:
            for pipeline in pipelines:
                runs[pipeline, dtype].append(spawn(f"startup:{pipeline}", model_dir, dtype, 3, {}))
        loads.append("{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg()))
    lines = [
        f"### {cpu_name()}: start-up and peak memory ({dt.datetime.now():%Y-%m-%d %H:%M})",
        "",
        f"{machine_line()}. `get_cpu_capability()` = {kind['capability']}. Fresh processes, in turn, "
        f"{repeats} of each; medians (each run in brackets). Load average (1/5/15 min) before and after "
        f"each round: {'; '.join(loads)}, on {os.cpu_count()} cores. Peak RSS: `ru_maxrss` in GiB.",
        "",
        "| pipeline | dtype | load | of which: the app's tokenizer (importing transformers too) | of which: vLLM's start "
        "| warm-up | first call | start-up (load + warm-up + first call) "
        "| peak RSS at start-up | peak RSS after 3 more requests | one request of 20 (zh) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(values: list[float], unit: str, digits: int) -> str:
        each = ", ".join(f"{v:.{digits}f}" for v in values)
        return f"{statistics.median(values):.{digits}f} {unit} ({each})"

    for (pipeline, dtype), reports in runs.items():
        lines.append(
            f"| {pipeline} | {dtype} | "
            + " | ".join(
                cell([r[key] for r in reports], unit, digits) for key, unit, digits in STARTUP_COLUMNS
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def render(
    label: str, kind: dict, peaks: dict[str, float], reports: dict[str, dict], flops: dict[str, float]
) -> str:
    """The CPU kind's section; ``peaks``: the measured matmul peak (GFLOP/s) in the dtype of each
    ``ours`` pipeline that gets a share-of-peak figure."""
    ours, peak = reports["ours"], peaks["ours"]
    lines = [
        f"### {label}: {kind['capability']}, {kind['app_dtype']} ({dt.datetime.now():%Y-%m-%d %H:%M})",
        "",
        f"{machine_line()}. `torch.backends.cpu.get_cpu_capability()` = {kind['capability']}, native bf16: "
        f"{kind['bf16_native']}, so the app runs {kind['app_dtype']}. Engine of `ours`: {ours['engine']}"
        + (f"; FELL BACK: {ours['fallback']}" if ours.get("fallback") else "")
        + f". {kind['app_dtype']} matmul peak measured in this run: {peak:.0f} GFLOP/s"
        + (f" (float32: {peaks['ours-fp32']:.0f} GFLOP/s)" if "ours-fp32" in peaks else "")
        + ". Load average "
        f"(1/5/15 min) at the end: {kind['load']} on {os.cpu_count()} cores.",
        "",
        "| 20 FAQ answers | pipeline | dtype | latency | ours is faster by | ours: share of its dtype's peak |",
        "|---|---|---|---:|---:|---:|",
    ]
    for lang in ("en", "zh"):
        for name, report in reports.items():
            latency = report[lang]
            ratio = f"{latency / ours[lang]:.2f}×" if not name.startswith("ours") else "—"
            share = ""
            if name in peaks:
                gflops = flops[lang] / latency / 1e9
                share = f"{gflops:.0f} GFLOP/s ({gflops / peaks[name]:.0%})"
            lines.append(f"| {lang} | {name} | {report['dtype']} | {latency:.2f} s | {ratio} | {share} |")
        if "openvino" not in reports:
            lines.append(f"| {lang} | openvino | | skipped: not installed (`--install-openvino`) | | |")
    if "openvino" in reports:
        gap = max(abs(a - b) for lang in ("en", "zh")
                  for a, b in zip(reports["openvino"]["scores"][lang], ours["scores"][lang]))  # fmt: skip
        export_s = reports["openvino"]["export_s"]
        export = "exported by an earlier run" if export_s is None else f"exported in {export_s:.1f} s, once"
        lines += ["", f"openvino: {reports['openvino']['engine']}; the model's OpenVINO IR was {export} (not "
                      f"counted in its start-up); largest score difference from `ours`: {gap:.3f}."]  # fmt: skip
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
            f"| {name} | {r['dtype']} | {r['startup_s']:.1f} s | {warm_up} | {r['peak_rss_gb']:.2f} GiB |"
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
    parser.add_argument(
        "--avx2-only",
        action="store_true",
        help="only the run limited to AVX2 kernels (implies --emulate-avx2)",
    )
    parser.add_argument(
        "--install-openvino", action="store_true", help="make the OpenVINO peer's venv, then run"
    )
    parser.add_argument(
        "--startup", action="store_true", help="only start-up and peak memory, in fresh processes"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
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
    if args.worker == "openvino":
        print(json.dumps(run_openvino(args.model, args.dtype, args.repeats, args.inputs)))
        return
    if args.worker and args.worker.startswith("startup:"):
        print(
            json.dumps(
                run_startup(args.worker.removeprefix("startup:"), args.model, args.dtype, args.repeats)
            )
        )
        return
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.model, args.dtype, args.repeats)))
        return
    if args.install_openvino:
        install_openvino()

    from reranker.testing.make_model import make_model

    model_dir = make_model("qwen3-0.6b-shape")
    repeats = 1 if args.quick else args.repeats
    if args.startup:
        report = measure_startup(model_dir, repeats)
        print(report)
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report)
        return
    sections = [] if args.avx2_only else [measure_kind(model_dir, repeats, {}, cpu_name())]
    if args.emulate_avx2 or args.avx2_only:
        sections.append(
            measure_kind(model_dir, repeats, AVX2_ENV, f"{cpu_name()} limited to AVX2 (emulated)")
        )
    report = "\n".join(sections)
    print(report)
    with args.out.open("a", encoding="utf-8") as handle:
        handle.write("\n" + report)


if __name__ == "__main__":
    main()
