"""L1 sustained load (reliability.md §5): 400 jobs/s for 60 s into 2 supervised processes x 4 threads on the
AOF Redis: every job is accounted for by the per-minute counters (the records themselves are trimmed), and
worker memory and Redis memory stay flat under the default retention. How fast the workers keep up (backlog,
achieved rate, drain time) depends on the machine: this test prints it, benchmarks/load.py measures it."""

from __future__ import annotations

import pytest

from .conftest import report
from .load_scenario import MiB, run_load

pytestmark = pytest.mark.reliability

RATE = 400  # jobs per second
SECONDS = 60
PROCESSES, THREADS = 2, 4
MAX_RSS_GROWTH = 10 * MiB
MAX_REDIS_GROWTH = 5 * MiB


def test_400_jobs_per_second_for_a_minute_loses_nothing_with_flat_memory(redis_client, redis_url, tmp_path):
    figures = run_load(redis_url, tmp_path, rate=RATE, seconds=SECONDS, processes=PROCESSES, threads=THREADS)
    report("L1 load", **figures.summary())

    assert figures.refused == 0 and figures.acked > 0, "Redis acknowledged every enqueue"
    assert figures.drained, "the workers finished the backlog"
    assert figures.completed == figures.acked and figures.failed == 0, "every acknowledged job completed once"
    assert len(figures.rss_growth) == PROCESSES and figures.restarts == 0, "the same worker processes ran throughout"
    assert max(figures.rss_growth.values()) < MAX_RSS_GROWTH
    assert figures.redis_growth < MAX_REDIS_GROWTH
    assert figures.stranded == 0 and figures.clean_stop
