"""The FAQ bases a desk serves: the operator's named CSV files, and agents' uploads.

Named bases are loaded on first use and kept; uploads are kept by content (the last
:data:`UPLOAD_CACHE_SIZE`), so the same file uploaded twice is read once. A
listener (:meth:`BaseRegistry.add_listener`) hears of every base loaded (the desk's first stage
uses it to start embedding the base).

>>> bases = BaseRegistry(bundled_bases())
>>> len(bases.named("English store FAQ (en_store_faq.csv)")) > 0
True
>>> bases.named("nope")
Traceback (most recent call last):
...
reranker.errors.NotFound: There is no FAQ base 'nope' on this server; it has '中文电商 FAQ (zh_ecommerce_faq.csv)', 'English store FAQ (en_store_faq.csv)' (GET /v1/faq/bases).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cachetools import LRUCache

from reranker.errors import InvalidInput, NotFound
from reranker.i18n import Lang, t
from reranker.knowledge.bases import FaqEntry, KnowledgeBase, bundled_bases, load_faq  # noqa: F401 - doctest
from reranker.knowledge.tabular import DEFAULT_MAX_BYTES, multiline_quote

UPLOAD_CACHE_SIZE = 8
PREVIEW_ROWS = 3


@dataclass(frozen=True)
class SelectedBase:
    """The knowledge base a request searches, and how to name it to the agent."""

    kb: KnowledgeBase
    label: str

    def describe(self, lang: Lang = "en") -> str:
        skipped = t("rows_skipped", lang, n=self.kb.skipped_rows) if self.kb.skipped_rows else ""
        return t("base_rows", lang, label=self.label, n=len(self.kb), skipped=skipped)


@dataclass(frozen=True)
class UploadCheck:
    """What an upload gave: its first rows, and how many rows were read from how many lines."""

    name: str
    preview: list[FaqEntry]
    rows: int
    lines: int
    #: The first quoted value spanning several lines (first and last line, 1-based), if any.
    quote_lines: tuple[int, int] | None = None

    @property
    def suspicious(self) -> bool:
        """Fewer rows than lines: usually an unclosed quote joined lines (or multi-line answers)."""
        return self.rows < self.lines

    def describe(self, lang: Lang = "en") -> str:
        text = t("upload_rows", lang, name=self.name, rows=self.rows)
        if self.suspicious:
            text += " " + t("upload_mismatch", lang, lines=self.lines, rows=self.rows)
            if self.quote_lines is not None:
                first, last = self.quote_lines
                text += " " + t("upload_quote_lines", lang, first=first, last=last)
        return text


class BaseRegistry:
    """Named bases (``paths``: display name -> CSV), loaded on first use, and an upload cache.

    ``max_upload_bytes`` limits only agents' uploads; the operator's files may be larger.
    Thread-safe: every session of the UI and every REST request share one registry.
    """

    def __init__(self, paths: Mapping[str, Path] | None = None, *, max_upload_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.paths = dict(paths or {})
        self.max_upload_bytes = max_upload_bytes
        self._listeners: list[Callable[[KnowledgeBase], None]] = []
        self._loaded: dict[str, KnowledgeBase] = {}
        self._uploads: LRUCache[str, KnowledgeBase] = LRUCache(maxsize=UPLOAD_CACHE_SIZE)
        self._lock = threading.Lock()

    def add_listener(self, on_load: Callable[[KnowledgeBase], None]) -> None:
        """Call ``on_load`` with every named base loaded from now on, and with those loaded already."""
        with self._lock:
            self._listeners.append(on_load)
            loaded = list(self._loaded.values())
        for kb in loaded:
            on_load(kb)

    @property
    def names(self) -> list[str]:
        return list(self.paths)

    def set_path(self, name: str, path: Path) -> None:
        """Serve ``name`` from ``path`` (a new base, or a new version of one: read again on next use)."""
        with self._lock:
            if self.paths.get(name) != path:
                self.paths[name] = path
                self._loaded.pop(name, None)

    def remove(self, name: str) -> None:
        """Stop serving ``name`` (a shared base that was deleted)."""
        with self._lock:
            self.paths.pop(name, None)
            self._loaded.pop(name, None)

    def named(self, name: str) -> KnowledgeBase:
        """One of the served bases by name; :class:`NotFound` listing them for any other name."""
        if name not in self.paths:
            known = ", ".join(map(repr, self.paths)) or "none"
            raise NotFound(f"There is no FAQ base {name!r} on this server; it has {known} (GET /v1/faq/bases).")
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = load_faq(self.paths[name])
                for on_load in self._listeners:
                    on_load(self._loaded[name])
            return self._loaded[name]

    def select(self, name: str | None, upload: str | Path | None = None) -> SelectedBase:
        """The uploaded CSV when there is one, else the named base (``InvalidInput`` naming the choices)."""
        if upload:
            path = Path(upload)
            return SelectedBase(self.load_upload(path), t("uploaded_label", name=path.name))
        if not name or name not in self.paths:
            raise InvalidInput.of("err_no_base", known=", ".join(self.paths) or "none")
        return SelectedBase(self.named(name), name)

    def check_upload(self, upload: str | Path) -> UploadCheck:
        """Load an upload and compare the rows read with the file's lines (raises ``InvalidInput``)."""
        path = Path(upload)
        kb = self.load_upload(path)
        data = path.read_bytes()
        lines = sum(1 for line in data.splitlines() if line.strip()) - 1
        quote = multiline_quote(data.decode("utf-8", errors="replace"))
        return UploadCheck(path.name, kb.entries[:PREVIEW_ROWS], len(kb) + kb.skipped_rows, lines, quote)

    def load_upload(self, path: Path) -> KnowledgeBase:
        """An agent's uploaded CSV (at most ``max_upload_bytes``), read once per content."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InvalidInput.of("err_upload_gone") from None
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            kb = self._uploads.get(digest)
        if kb is None:
            kb = load_faq(data, max_bytes=self.max_upload_bytes, name=path.name)
            with self._lock:
                self._uploads[digest] = kb
        return kb
