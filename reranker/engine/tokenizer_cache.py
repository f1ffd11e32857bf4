"""The model's tokenizer, kept built on disk between starts.

transformers 5 builds Qwen3's tokenizer from its 11 MB ``tokenizer.json`` by reading the file three
times (twice as JSON in Python, once in Rust) and then deep-copying the result: about 2 s of every
start on the Intel Xeon, a seventh of the start-up. A pickle of the built tokenizer loads in 0.5 s
(one parse, in Rust). The pickle is keyed by the model directory, the tokenizer files' contents and
the transformers, tokenizers and Python versions, so a changed file or an upgrade builds it again.

A pickle runs code when it loads, so only a file this user owns, that nobody else may write, in a
directory nobody else may write, is read; anything else is built from the files as before (and
rewritten where it can be). A cache that cannot be read or written is never an error.

>>> tokenizer = cached_tokenizer(Path("/models/Qwen3-Reranker-0.6B"), AutoTokenizer.from_pretrained)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger("reranker.engine.scorer")
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "faq-rerank-desk" / "tokenizers"
#: The files a tokenizer is built from (its vocabulary, merges, settings, chat template, the
#: model's config); weights never are.
TOKENIZER_SUFFIXES = (".json", ".txt", ".model", ".jinja", ".tiktoken")
#: Built tokenizers kept at most (1-6 MB each): models come and go, and a moved directory is another key.
KEEP = 8

T = TypeVar("T")


def fingerprint(directory: Path) -> str:
    """What the built tokenizer depends on: the directory, its tokenizer files, the libraries."""
    import tokenizers
    import transformers

    digest = hashlib.sha256()
    for part in (str(directory.resolve()), transformers.__version__, tokenizers.__version__,
                 f"{sys.version_info[0]}.{sys.version_info[1]}"):  # fmt: skip
        digest.update(part.encode() + b"\0")
    for path in sorted(directory.iterdir()):
        if path.suffix in TOKENIZER_SUFFIXES and path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cached_tokenizer(directory: Path, build: Callable[[Path], T], cache_dir: Path | None = None) -> T:
    """``build(directory)``, or the tokenizer it built last time for the same files.

    ``cache_dir``: where built tokenizers are kept (None: :data:`DEFAULT_CACHE_DIR`, read at each
    call). Errors of ``build`` (a missing or broken tokenizer) are its own.
    """
    cache_dir = DEFAULT_CACHE_DIR if cache_dir is None else cache_dir
    try:
        key = fingerprint(directory)
    except OSError:
        return build(directory)
    place = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    path = cache_dir / f"{place}-{key[:32]}.pickle"
    loaded = _read(path)
    if loaded is not None:
        return loaded
    tokenizer = build(directory)
    _write(path, tokenizer)
    return tokenizer


def _private(path: Path) -> bool:
    """Owned by this user and writable by nobody else (the file and its directory)."""
    for part in (path, path.parent):
        info = part.stat()
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def _read(path: Path):
    try:
        if not path.is_file() or not _private(path):
            return None
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception as exc:  # a truncated or stale pickle is rebuilt, whatever it raises
        logger.info("Rebuilding the tokenizer: its cached copy %s could not be read (%s).", path, exc)
        return None


def _write(path: Path, tokenizer: object) -> None:
    """Atomically, replacing this directory's older copy, keeping the :data:`KEEP` newest in all;
    a failure only logs."""
    temporary: Path | None = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            temporary = Path(handle.name)
            pickle.dump(tokenizer, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
        place = path.name.split("-")[0]
        kept = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for number, older in enumerate(kept):
            if older != path and (older.name.startswith(f"{place}-") or number >= KEEP):
                older.unlink(missing_ok=True)
    except Exception as exc:  # unpicklable (custom code), read-only home, full disk: build next time too
        logger.info("The tokenizer is not cached (%s); it is built from its files at every start.", exc)
        if temporary is not None:
            temporary.unlink(missing_ok=True)
