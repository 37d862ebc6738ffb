"""The example Prometheus rules only use metric names that WellQueue's collectors expose."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from wellqueue_tui.health.metrics import describe_health
from wellqueue_tui.workers.prometheus import MetricsSnapshot, describe

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "prometheus" / "wellqueue-alerts.yml"


def test_example_rules_use_exposed_metrics() -> None:
    text = EXAMPLE.read_text()
    used = set(re.findall(r"\bwellqueue_[a-z_]+", text))
    exposed = {family.name for family in describe(MetricsSnapshot([], {}, Counter()))}
    exposed |= {family.name for family in describe_health([], [], [])} | {"wellqueue_up"}
    assert used and used <= exposed, used - exposed
    assert text.count("- alert:") == 4
