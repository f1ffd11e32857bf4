"""What the team database costs a desk: picks recorded per second, and sign-in / API-key checks.

    .venv/bin/python benchmarks/bench_store.py                       # SQLite only
    .venv/bin/python benchmarks/bench_store.py --postgres URL        # also a PostgreSQL server

Baseline, measured in the same run: today's ``FeedbackStore`` (one SQLite file, WAL, FULL sync).
Each store records ``--picks`` picks from ``--threads`` threads at once (every pick committed before
the call returns), then the ratio to the baseline is printed. Then, on the SQLite store: one
``verify_key`` (the per-request API-key check) and one ``check_password`` (the UI login, bcrypt
cost 12).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the frozen FeedbackStore, the baseline

from legacy_feedback_store import FeedbackStore  # noqa: E402

from reranker.store import ShownAnswer, Store, default_url, open_store, upgrade  # noqa: E402

SHOWN = [{"id": f"en-{n:03}", "score": 0.5, "rank": n} for n in range(1, 21)]


def picks_per_second(store: Store | FeedbackStore, picks: int, threads: int) -> float:
    shown = [ShownAnswer(**answer) for answer in SHOWN]

    def one(n: int) -> int:
        return store.record(base="en", base_version="v", question=f"where is my parcel {n}", chosen_id="en-004",
                            shown=shown, user="ana")  # fmt: skip

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(picks)))
    return picks / (time.perf_counter() - start)


def latency_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--picks", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--postgres", default=None, help="postgresql+psycopg://... (an empty database)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    baseline = picks_per_second(FeedbackStore(folder / "feedback.sqlite3"), args.picks, args.threads)
    print(f"picks/s, {args.threads} threads: FeedbackStore (baseline) {baseline:.0f}")
    upgrade(default_url(folder / "new"))
    sqlite = Store(default_url(folder / "new"))
    stores = {"Store on SQLite": sqlite}
    if args.postgres:
        upgrade(args.postgres)
        stores["Store on PostgreSQL"] = Store(args.postgres)
    for name, store in stores.items():
        rate = picks_per_second(store, args.picks, args.threads)
        print(f"picks/s, {args.threads} threads: {name} {rate:.0f} ({rate / baseline:.2f}x the baseline)")
    team = open_store(folder / "new")
    team.add_user("ana", "correct horse battery", "agent")
    _, key = team.create_key("ana", "zendesk")
    print(f"verify_key (API request check): {latency_ms(lambda: team.verify_key(key), 200):.2f} ms median")
    login = latency_ms(lambda: team.check_password("ana", "correct horse battery"), 5)
    print(f"check_password (UI sign-in, bcrypt cost {team.bcrypt_rounds}): {login:.0f} ms median")


if __name__ == "__main__":
    main()
