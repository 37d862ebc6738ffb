"""Short texts for queue health and alerts: the queue panel's health line, an alert's value, the alert bar."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ..health.alert_state import AlertState
from ..health.breaker_state import BreakerState
from ..health.queue_health import QueueHealth
from ..sanitize import safe_text
from . import formats

#: What the panel says of a breaker that is not closed.
BREAKER_WORDS = {"open": "breaker OPEN", "half_open": "breaker half-open"}


def alert_value(state: AlertState) -> str:
    """The value an alert was judged on: a failure rate as a percentage, latency in seconds, else a count."""
    if state.value is None:
        return "n/a"
    if state.kind == "failure_rate":
        return formats.percent(state.value)
    if state.kind == "latency":
        return formats.age(state.value)
    return f"{state.value:g}"


def health_line(health: QueueHealth | None, breaker: BreakerState | None, held: Sequence[str] = ()) -> Text:
    """`latency 42s · 2 consumers · no consumer · backlog growing · stuck 3 · breaker OPEN · holding h +1`
    (`held`: destinations whose own breaker is not closed); empty when unknown."""
    text = Text(end="")
    if health is None:
        return text
    text.append("latency ", style="dim")
    text.append(formats.age(health.latency_s), style="bold")
    if health.consumers:  # none is said by the "no consumer" warning
        text.append(f"  {health.consumers} consumer{'' if health.consumers == 1 else 's'}", style="dim")
    warnings = [word for word in health.warnings if word != "paused"]
    if breaker is not None and breaker.status in BREAKER_WORDS:
        warnings.append(BREAKER_WORDS[breaker.status])
    if held:
        warnings.append(f"holding {held[0][:40]}" + (f" +{len(held) - 1}" if len(held) > 1 else ""))
    for word in warnings:
        text.append("  ")
        text.append(
            word, style="bold red" if word.startswith(("no consumer", "stuck", "breaker OPEN")) else "bold yellow"
        )
    return text


def alert_bar_text(firing: list[AlertState]) -> Text:
    """`▲ 2 alerts firing: failure-rate on webhooks (83.3%) · queue-depth on samples (140)   ! for details`."""
    text = Text(end="")
    text.append(f" ▲ {len(firing)} alert{'' if len(firing) == 1 else 's'} firing: ", style="bold")
    for index, state in enumerate(firing[:4]):
        if index:
            text.append(" · ")
        text.append_text(safe_text(state.rule, 40, style="bold"))
        text.append(" on ")
        text.append_text(safe_text(state.queue, 40))
        text.append(f" ({alert_value(state)})")
    if len(firing) > 4:
        text.append(f" · {len(firing) - 4} more")
    text.append("   ! for details")
    return text
