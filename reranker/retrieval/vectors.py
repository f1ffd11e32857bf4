"""Document vectors on disk: embed only what the cache does not hold yet.

One SQLite file per model fingerprint, keyed by the sha256 of each text; the desk re-embeds a
base's changed rows only, and a restart embeds nothing.

>>> import tempfile
>>> cache = EmbeddingCache(tempfile.mkdtemp(), "model-abc")
>>> cache.put({"h1": np.ones(3, dtype=np.float32)})
>>> sorted(cache.get(["h1", "h2"]))
['h1']
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from reranker.retrieval.dense import Embedder

logger = logging.getLogger("reranker.retrieval.dense")
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "faq-rerank-desk" / "embeddings"
#: ``progress(done, total)``: rows embedded (or found in the cache) so far.
Progress = Callable[[int, int], None]


def text_hash(text: str) -> str:
    """The cache key of one text (sha256 of its UTF-8 bytes, hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Document vectors on disk: one SQLite file per model fingerprint, keyed by text hash.

    >>> import tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp(), "model-abc")
    >>> cache.put({"h1": np.ones(3, dtype=np.float32)})
    >>> sorted(cache.get(["h1", "h2"]))
    ['h1']
    """

    _CHUNK = 900  # SQLite's default limit on bound parameters is 999

    def __init__(self, directory: str | Path, model_key: str) -> None:
        self.path = Path(directory).expanduser() / f"{_safe_name(model_key)}.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits on success and is always closed."""
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def get(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``hashes``."""
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for start in range(0, len(hashes), self._CHUNK):
                chunk = list(hashes[start : start + self._CHUNK])
                marks = ",".join("?" * len(chunk))
                for key, blob in db.execute(
                    f"SELECT hash, vector FROM vectors WHERE hash IN ({marks})", chunk
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        rows = [(key, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for key, v in vectors.items()]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO vectors (hash, vector) VALUES (?, ?)", rows)


def _safe_name(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key).strip("._")[:120] or "model"


def embed_with_cache(
    embedder: Embedder,
    texts: Sequence[str],
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Document vectors for ``texts`` and how many were computed (the rest came from the cache).

    Only texts the cache does not hold are embedded (each distinct text once); ``progress(done,
    total)`` counts cached rows as done. ``cache_dir=None`` embeds everything and stores nothing.
    """
    if cache_dir is None:
        return embedder.embed_documents(texts, progress), len(texts)
    cache = EmbeddingCache(cache_dir, f"{Path(embedder.name).name}-{embedder.fingerprint}")
    hashes = [text_hash(text) for text in texts]
    known = cache.get(list(dict.fromkeys(hashes)))
    missing = list(dict.fromkeys(h for h in hashes if h not in known))
    first_text = {h: t for h, t in zip(reversed(hashes), reversed(texts))}
    reused = sum(h in known for h in hashes)
    if progress is not None:
        progress(reused, len(texts))
    if missing:

        def report(done: int, _total: int) -> None:
            if progress is not None:
                progress(reused + done, len(texts))

        vectors = embedder.embed_documents([first_text[h] for h in missing], report)
        computed = dict(zip(missing, vectors))
        cache.put(computed)
        known.update(computed)
        if progress is not None and reused + len(missing) < len(texts):
            progress(len(texts), len(texts))  # repeated texts were embedded once
    logger.info("Embedded %d of %d texts (%d from the cache)", len(missing), len(texts), reused)
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), 0
    return np.stack([known[h] for h in hashes]), len(missing)


