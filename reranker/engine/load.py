"""``load_scorer()``: load Qwen3-Reranker once on the engine asked for (vLLM in-process, transformers,
or a remote ``vllm serve``), falling back from vLLM to transformers under ``auto`` and saying why.

>>> scorer = load_scorer()                                   # doctest: +SKIP
>>> scorer.score("Where is my order?", ["It ships in 24 hours.", "Reset your password."])  # doctest: +SKIP
[0.93..., 0.01...]
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal, get_args

from reranker.engine.backends.base import Backend
from reranker.engine.cache import DEFAULT_CACHE_SIZE, ScoreCache
from reranker.engine.model_source import DEFAULT_MODEL, resolve_model_dir
from reranker.engine.prompt import DEFAULT_MAX_LENGTH, NO_TOKEN, YES_TOKEN, PromptEncoder, validate_max_length
from reranker.engine.scorer import Scorer
from reranker.engine.tokenizer_cache import cached_tokenizer
from reranker.errors import InvalidInput, ModelUnavailable

logger = logging.getLogger("reranker.engine.scorer")
#: What vLLM's start-up raises when it cannot start (see :func:`_start_vllm`).
VLLM_START_ERRORS = (ValueError, RuntimeError, ImportError, OSError, MemoryError)

BackendName = Literal["auto", "vllm", "transformers", "remote"]
BACKENDS: tuple[str, ...] = get_args(BackendName)
DTYPES = ("auto", "float32", "bfloat16", "float16")


def check_engine_choice(backend: str, dtype: str | None) -> None:
    """:class:`InvalidInput` listing the choices for an unknown backend or dtype (None: the default).

    >>> check_engine_choice("vllm", "bfloat16")
    >>> check_engine_choice("tensorrt", None)
    Traceback (most recent call last):
    ...
    reranker.errors.InvalidInput: Unknown backend 'tensorrt'; choose one of: auto, vllm, transformers, remote.
    """
    if backend not in BACKENDS:
        raise InvalidInput(f"Unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}.")
    if dtype is not None and dtype not in DTYPES:
        raise InvalidInput(f"Unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}.")


def load_scorer(model: str | os.PathLike[str] | None = None, backend: BackendName = "auto",
                dtype: str | None = None, max_length: int = DEFAULT_MAX_LENGTH,
                cache_size: int = DEFAULT_CACHE_SIZE, remote_url: str | None = None,
                concurrency: int = 2, kv_cache_gib: float | None = None) -> Scorer:  # fmt: skip
    """Load the reranker once; reuse the returned :class:`Scorer` for every request.

    ``model``: a Hugging Face id or a local directory (default ``$RERANKER_MODEL`` or
    ``Qwen/Qwen3-Reranker-0.6B``). ``backend``: "vllm" (in-process engine), "transformers",
    "auto" (vLLM when it starts, else transformers: the cause is logged as a warning and kept
    in ``scorer.fallback_cause``), or "remote" (a ``vllm serve`` at ``remote_url``; the prompts
    are still built here, with the model's tokenizer). ``dtype``: None/"auto" (bf16 where the
    hardware has it, else fp32), "float32", "bfloat16" or "float16". ``concurrency``: requests
    scored at once, which vLLM's CPU KV cache is sized for (``kv_cache_gib`` overrides it).

    >>> scorer = load_scorer("/models/Qwen3-Reranker-0.6B", backend="transformers")  # doctest: +SKIP
    >>> scorer.backend_name                                                           # doctest: +SKIP
    'transformers'
    """
    check_engine_choice(backend, dtype)
    validate_max_length(max_length)
    model_id = str(model or DEFAULT_MODEL)
    directory = resolve_model_dir(model_id)
    encoder = PromptEncoder(_load_tokenizer(directory), max_length)
    yes_id, no_id = _answer_token_ids(encoder.tokenizer, model_id)

    def start_vllm() -> Backend:
        return _start_vllm(directory, dtype, max_length, concurrency, kv_cache_gib, encoder.tokenizer)

    reason, fallback_cause = f"backend {backend!r} requested", None
    engine: Backend
    if backend == "auto":
        try:
            engine, reason = start_vllm(), "auto: vLLM started"
        except ModelUnavailable as exc:
            fallback_cause = str(exc)
            reason = f"auto: vLLM could not start, so the slower transformers engine runs ({exc})"
            logger.warning("%s", reason)
            engine = _start_transformers(directory, yes_id, no_id, dtype)
    elif backend == "remote":
        engine = _start_remote(remote_url or "", model_id, max_length)
    elif backend == "vllm":
        engine = start_vllm()
    else:
        engine = _start_transformers(directory, yes_id, no_id, dtype)
    logger.info("Loaded %s with the %s backend (%s; %s)", model_id, engine.name, engine.description, reason)
    return Scorer(backend=engine, encoder=encoder, model=model_id, backend_reason=reason,
                  fallback_cause=fallback_cause, cache=ScoreCache(cache_size))  # fmt: skip


def _load_tokenizer(directory: Path):
    from transformers import AutoTokenizer

    try:
        return cached_tokenizer(directory, AutoTokenizer.from_pretrained)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"The tokenizer in {directory} cannot be loaded ({exc}).") from exc


def _answer_token_ids(tokenizer, model_id: str) -> tuple[int, int]:
    ids = tokenizer.convert_tokens_to_ids([YES_TOKEN, NO_TOKEN])
    if any(i is None or i == tokenizer.unk_token_id for i in ids):
        raise ModelUnavailable(
            f"{model_id!r} has no single tokens for 'yes' and 'no': it is not a Qwen3 reranker."
        )
    return ids[0], ids[1]


def _start_vllm(directory: Path, dtype: str | None, max_length: int, concurrency: int,
                kv_cache_gib: float | None, tokenizer: object | None = None) -> Backend:  # fmt: skip
    """Start vLLM in-process; a failure to start becomes :class:`ModelUnavailable` with its cause.

    vLLM's start-up raises ValueError (a KV cache too small, an unsupported config), RuntimeError
    (a kernel, a worker that died), ImportError or OSError (a broken install, a missing library)
    and MemoryError: those are start-up failures, logged with their traceback at WARNING, and
    ``auto`` may fall back. Anything else (a TypeError, an AttributeError: a bug in our own
    :class:`VllmBackend`) is raised as it is, so it is fixed rather than hidden by a fallback.
    """
    from reranker.engine.backends.vllm import VllmBackend

    try:
        return VllmBackend(directory, dtype, max_length, sequences=concurrency, kv_cache_gib=kv_cache_gib,
                           tokenizer=tokenizer)  # fmt: skip
    except VLLM_START_ERRORS as exc:
        logger.warning("vLLM failed to start", exc_info=True)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelUnavailable(
            f"vLLM could not start the model ({type(exc).__name__}: {first_line})"
        ) from exc


def _start_transformers(directory: Path, yes_id: int, no_id: int, dtype: str | None) -> Backend:
    from reranker.engine.backends.hf import TransformersBackend

    return TransformersBackend(directory, yes_id=yes_id, no_id=no_id, dtype=dtype)


def _start_remote(url: str, model_id: str, max_length: int) -> Backend:
    if not url:
        raise InvalidInput(
            "The remote backend needs the vLLM server's address: pass --remote-url http://HOST:PORT."
        )
    from reranker.engine.backends.remote import RemoteBackend

    return RemoteBackend(url, model_id, max_length=max_length)
