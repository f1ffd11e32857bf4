"""Twenty agents at once get correct answers from one app, and memory stays flat.

Runs ``benchmarks/load_test.py``'s :func:`run_load_test` (the script writes its report to
``benchmarks/load_results.md``; this test prints it, visible with ``-s``).
"""

from __future__ import annotations

import pytest

from benchmarks.load_test import run_load_test

pytestmark = pytest.mark.slow


def test_twenty_concurrent_clients_all_get_the_scorers_order_and_memory_stays_flat(hf_scorer):
    report = run_load_test(hf_scorer, clients=20, requests_per_client=10, timeout_s=60)
    print(report.to_markdown())
    assert report.errors == []
    assert len(report.samples) == 200
    assert {s.route for s in report.samples} == {"rank_pasted", "rank_faq", "rest"}
    assert sum(s.route == "rest" for s in report.samples) == 100
    assert report.cache_hits > 0 and report.cache_misses > 0
    assert report.rss_growth <= 0.10
    assert report.wall_s < 150
