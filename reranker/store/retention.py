"""``--retain-days N``: delete picks older than N days when the desk starts, then once a day.

Picks hold customers' questions (personal data). Every desk may run the job: a purge deletes by
date, so two desks purging the same day delete nothing twice.

>>> job = RetentionJob(store, days=90).start()     # doctest: +SKIP
>>> job.stop()                                     # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from typing import Self

from reranker.errors import DatabaseUnavailable, InvalidInput
from reranker.store.store import Store

log = logging.getLogger(__name__)

DAY_S = 24 * 3600.0
#: How soon to try again when the database was unavailable at purge time.
RETRY_AFTER_S = 60.0


class RetentionJob:
    """A daemon thread that calls :meth:`Store.purge_older_than` at once and every ``interval_s``."""

    def __init__(self, store: Store, days: int, *, interval_s: float = DAY_S,
                 retry_after_s: float = RETRY_AFTER_S) -> None:  # fmt: skip
        if days < 0:
            raise InvalidInput(f"--retain-days must be 0 or more, not {days}.")
        self.store, self.days = store, days
        self.interval_s, self.retry_after_s = interval_s, retry_after_s
        self.runs = self.purged = 0  # purges done, picks deleted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="picks-retention", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the job (a purge under way finishes first)."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            try:
                count = self.store.purge_older_than(self.days)
            except DatabaseUnavailable as exc:
                log.warning("picks older than %d days not purged yet, trying again in %.0f s: %s",
                            self.days, self.retry_after_s, exc)  # fmt: skip
                wait = self.retry_after_s
                continue
            self.runs += 1
            self.purged += count
            log.info("retention: deleted %d picks older than %d days", count, self.days)
            wait = self.interval_s
