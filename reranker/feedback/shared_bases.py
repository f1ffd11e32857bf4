"""FAQ bases shared by the team: saved by a lead into the database, served by every desk.

A lead's upload is stored in the team database (:meth:`reranker.store.Store.save_base`, the CSV
bytes as uploaded). Each desk copies the stored bases into a folder of its own (one file per
content hash) and serves them by name in its :class:`~reranker.knowledge.registry.BaseRegistry`,
next to the bundled ones and ``--kb`` (a stored base of the same name replaces them).
:meth:`SharedBases.sync` compares the stored sha256 with what the desk serves and reloads only the
bases that changed; :meth:`SharedBases.start` syncs every ``interval_s`` seconds, so a base saved
on desk A is searchable on desk B within that time.

A base edited in the desk (:mod:`reranker.feedback.editor`) is served from its current entries in
the database instead: when its highest revision changes, the desk writes the active entries to
a CSV of its own (named by content) and reloads it. A base no longer stored goes back to the
file it was served from before (a bundled base), or is no longer served.

>>> shared = SharedBases(store, desk.bases, data_dir / "shared-bases").start()    # doctest: +SKIP
>>> shared.save("Returns FAQ", csv_bytes, filename="returns.csv", by=lead)        # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Self

from reranker.errors import DatabaseUnavailable, InvalidInput
from reranker.feedback.team import Member, require_lead
from reranker.knowledge.bases import faq_table, load_faq
from reranker.knowledge.registry import BaseRegistry
from reranker.store import BaseInfo, Store
from reranker.store.entries import EntryStore

log = logging.getLogger(__name__)

#: How often a desk looks for bases saved or replaced on other desks.
SYNC_INTERVAL_S = 10.0


class SharedBases:
    """The team's stored bases, kept in step with ``registry`` (copies in ``folder``)."""

    def __init__(self, store: Store, registry: BaseRegistry, folder: Path, *,
                 interval_s: float = SYNC_INTERVAL_S) -> None:  # fmt: skip
        self.store, self.registry, self.folder = store, registry, folder
        self.entries = EntryStore(store)
        self.interval_s = interval_s
        self.served: dict[str, str] = {}  # name -> sha256 (a stored CSV) or "revision N" (edited entries)
        self.original = dict(registry.paths)  # what each base was served from before the team's versions
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shared-bases", daemon=True)

    def sync(self) -> list[str]:
        """Serve every stored base as stored now; returns the names added, replaced or removed."""
        with self._lock:
            edited = {name: f"revision {revision}" for name, revision in self.entries.revisions().items()}
            stored = {info.name: info for info in self.store.bases() if info.name not in edited}
            changed = [name for name, info in stored.items() if self.served.get(name) != info.sha256]
            for name in changed:
                self._serve(stored[name])
            revised = [name for name, revision in edited.items() if self.served.get(name) != revision]
            for name in revised:
                self._serve_entries(name, edited[name])
            gone = [name for name in self.served if name not in stored and name not in edited]
            for name in gone:
                if name in self.original:
                    self.registry.set_path(name, self.original[name])
                else:
                    self.registry.remove(name)
                del self.served[name]
        names = [*changed, *revised]
        if names or gone:
            log.info("shared FAQ bases: %s", ", ".join([*names, *(f"{g} (removed)" for g in gone)]))
        return [*names, *gone]

    def save(self, name: str, data: bytes, *, filename: str | None, by: Member) -> BaseInfo:
        """Store a lead's upload as the team's base ``name`` (replacing it) and serve it here at once.

        The CSV is read first, so a file the desk cannot use is refused before anyone sees it.
        """
        require_lead(by, "bases")
        if self.entries.edited(name.strip()):
            raise InvalidInput.of("err_base_edited_in_desk", base=name.strip())
        load_faq(data, max_bytes=self.registry.max_upload_bytes)
        info = self.store.save_base(name.strip(), data, filename=filename, uploaded_by=by.name)
        self.sync()
        return info

    def start(self) -> Self:
        """Sync now, then every ``interval_s`` in a daemon thread."""
        self.sync()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _serve(self, info: BaseInfo) -> None:
        path = self._file(info.sha256, lambda: self.store.load_base(info.name).data)
        self.registry.set_path(info.name, path)
        self.served[info.name] = info.sha256

    def _serve_entries(self, name: str, revision: str) -> None:
        active = [entry.faq_entry() for entry in self.entries.current(name) if not entry.retired]
        out = io.StringIO()
        faq_table(active).to_csv(out, index=False)
        data = out.getvalue().encode()
        self.registry.set_path(name, self._file(hashlib.sha256(data).hexdigest(), lambda: data))
        self.served[name] = revision

    def _file(self, sha256: str, data: Callable[[], bytes]) -> Path:
        """The copy named by its content hash, written (whole, then renamed) only when absent."""
        path = self.folder / f"{sha256}.csv"
        if not path.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_bytes(data())
            partial.replace(path)
        return path

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sync()
            except DatabaseUnavailable as exc:
                log.warning("shared FAQ bases not checked this time: %s", exc)
