"""The score cache: (instruction, query, document) -> (score, truncated, tokens), bounded, thread-safe.

>>> cache = ScoreCache(max_entries=2)
>>> [key] = cache_keys("instruction", "query", ["document"])
>>> cache.put(key, (0.9, False, 42)); cache.get(key), cache.stats.hits
((0.9, False, 42), 1)
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from cachetools import LRUCache

from reranker.errors import InvalidInput

DEFAULT_CACHE_SIZE = 10_000


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class ScoreCache:
    """A bounded LRU of (instruction, query, document) -> (score, truncated, tokens); thread-safe.

    Keys are 16-byte hashes (:func:`cache_keys`), so the cache holds no texts: its memory is
    bounded by ``max_entries`` whatever the size of the documents.
    """

    def __init__(self, max_entries: int = DEFAULT_CACHE_SIZE) -> None:
        self.max_entries = max_entries
        self._entries: LRUCache[bytes, tuple[float, bool, int]] = LRUCache(maxsize=max(max_entries, 1))
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def peek(self, key: bytes) -> bool:
        """Whether ``key`` is cached, without counting a hit or a miss."""
        with self._lock:
            return key in self._entries

    def get(self, key: bytes) -> tuple[float, bool, int] | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
            return value

    def put(self, key: bytes, value: tuple[float, bool, int]) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cache_keys(instruction: str, query: str, documents: Sequence[str]) -> list[bytes]:
    """One 16-byte BLAKE2b key per document for the score cache.

    Raises ``InvalidInput`` for text that is not valid Unicode (an unpaired UTF-16 surrogate,
    which JSON can carry as ``"\\ud83d"``): no tokenizer can encode it.
    """
    head = hashlib.blake2b(digest_size=16)
    for part in (_utf8(instruction, "The instruction"), _utf8(query, "The question")):
        head.update(len(part).to_bytes(8, "little") + part)
    keys = []
    for number, doc in enumerate(documents, start=1):
        key = head.copy()
        key.update(_utf8(doc, f"Candidate {number}"))
        keys.append(key.digest())
    return keys


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{what} contains U+{ord(text[exc.start]):04X}, half of a UTF-16 surrogate pair, which "
            "is not valid text. Send it as valid UTF-8 (an emoji was probably cut in half)."
        ) from None


