"""Every Redis key this package owns, in one place (to move into the engine's key schema as a whole)."""

from __future__ import annotations

from ..jobs.probe_gate import PROBE_JOBS, PROBES

ALERT_RULES = "wq:alerts:rules"  # hash: rule name -> AlertRule JSON
ALERT_RULES_INSTALLED = "wq:alerts:installed"  # string: set once the defaults went in (never reinstalled)
ALERT_STATE = "wq:alerts:state"  # hash: "{rule}|{queue}" -> AlertState JSON
ALERT_HISTORY = "wq:alerts:history"  # stream, capped: firings and resolutions
BREAKER_CONFIG = "wq:breakers:config"  # hash: queue -> BreakerConfig JSON
BREAKER_STATE = "wq:breakers:state"  # hash: queue -> BreakerState JSON
BREAKER_PROBES = PROBES  # hash: queue -> token (read by the pause gate in jobs/broker.py)
BREAKER_PROBE_JOBS = PROBE_JOBS  # hash: queue -> job id of the probe that went through


def backlog_samples_key(queue: str) -> str:
    """zset of the queue's backlog size over time (member "{ms}:{size}", score ms), for arrival rates."""
    return f"wq:health:backlog:{queue}"


def alert_state_field(rule: str, queue: str) -> str:
    return f"{rule}|{queue}"
