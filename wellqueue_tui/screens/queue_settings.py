"""A queue's settings in the console: the limit dialog (`L`: rate limit and cluster cap, live on every host) and
the info panel (`i`: the defaults its jobs get — attempts, backoff, timeout, retention — threads and limits)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ..jobs.limits import CONFIG, LimitError, parse_concurrency, parse_rate
from ..jobs.models import QueueLimits, RateLimit
from ..jobs.options import Retention
from ..jobs.queue_config import QueueConfig
from ..sanitize import safe_text
from ..widgets import formats


@dataclass(frozen=True)
class LimitRequest:
    """What the operator changed: a rate spec and/or a cap spec (None: left as it was)."""

    rate: str | None
    concurrency: str | None


def limits_text(limits: QueueLimits) -> str:
    """`10/s · max 5 in flight` for titles and panels; "" when the queue has no limit."""
    return limits.summary() if limits.any else ""


class LimitScreen(ModalScreen[LimitRequest | None]):
    """Two fields, prefilled with what is in force; enter applies what changed, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, queue: str, limits: QueueLimits) -> None:
        super().__init__(classes="dialog-screen")
        self.queue = queue
        self.initial_rate = str(limits.rate) if limits.rate else "off"
        self.initial_cap = str(limits.concurrency) if limits.concurrency else "off"
        self.limits = limits

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog limit-dialog") as dialog:
            dialog.border_title = Text.assemble("Limit ", safe_text(self.queue, 60))
            yield Label("Start at most (MAX/DURATION: 10/s, 600/min, 100/30s; off; config)")
            yield Input(self.initial_rate, id="limit-rate")
            yield Label("Jobs in flight over every host at most (a number; off; config)")
            yield Input(self.initial_cap, id="limit-concurrency")
            yield Static(configured_line(self.limits), classes="limit-configured")
            yield Static("", id="limit-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (enter)", variant="warning", id="limit-apply")
                yield Button("Cancel (esc)", id="limit-cancel")

    def on_mount(self) -> None:
        self.query_one("#limit-rate", Input).focus()

    def on_input_submitted(self) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "limit-apply":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def submit(self) -> None:
        rate = self.query_one("#limit-rate", Input).value.strip()
        cap = self.query_one("#limit-concurrency", Input).value.strip()
        try:
            if rate.lower() != CONFIG:
                parse_rate(rate)
            if cap.lower() != CONFIG:
                parse_concurrency(cap)
        except LimitError as exc:
            self.query_one("#limit-error", Static).update(safe_text(exc, 200))
            return
        changed = LimitRequest(rate if rate != self.initial_rate else None, cap if cap != self.initial_cap else None)
        self.dismiss(changed if changed.rate is not None or changed.concurrency is not None else None)


def configured_line(limits: QueueLimits) -> Text:
    """What the configuration says, so the operator knows what `config` gives back."""
    text = Text("configured: ", style="dim", end="")
    text.append(_rate(limits.configured_rate))
    text.append(" · ", style="dim")
    text.append(_cap(limits.configured_concurrency))
    return text


def _rate(rate: RateLimit | None) -> str:
    return f"{rate}" if rate else "no rate limit"


def _cap(cap: int | None) -> str:
    return f"max {cap} in flight" if cap else "no cap in flight"


def _retention(keep: Retention) -> str:
    count = "all" if keep.count < 0 else "none" if keep.count == 0 else f"newest {keep.count}"
    return f"{count}, none older than {formats.age(keep.age_s)}" if keep.age_s else count


def info_rows(config: QueueConfig) -> list[tuple[str, str]]:
    """The info panel's rows: (label, value)."""
    limits = config.limits
    backoff = f"{config.backoff_type}, {'from ' if config.backoff_type == 'exponential' else ''}"
    backoff += formats.duration(config.backoff_delay_ms)
    threads = (
        f"{config.threads} per process × {config.processes} on this host"
        if config.threads
        else "no workers on this host"
    )
    rate = _rate(limits.rate) + (" (set live)" if limits.rate_live else "")
    cap = _cap(limits.concurrency) + (" (set live)" if limits.concurrency_live else "")
    return [
        ("attempts", str(config.attempts)),
        ("backoff", backoff),
        ("timeout", formats.duration(config.timeout_ms)),
        ("delay", formats.duration(config.delay_ms) if config.delay_ms else "none"),
        ("keep completed", _retention(config.keep_completed)),
        ("keep failed", _retention(config.keep_failed)),
        ("worker threads", threads),
        ("rate limit", rate),
        ("in flight", cap),
        ("configured", f"{_rate(limits.configured_rate)} · {_cap(limits.configured_concurrency)}"),
    ]


class QueueInfoScreen(ModalScreen[None]):
    """What a queue's jobs get when their callers set nothing, and the limits in force; escape closes."""

    BINDINGS = [Binding("escape,i,q", "close", "Close")]

    def __init__(self, config: QueueConfig) -> None:
        super().__init__(classes="dialog-screen")
        self.config = config

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog queue-info-dialog") as dialog:
            dialog.border_title = Text.assemble("Queue ", safe_text(self.config.queue, 60))
            dialog.border_subtitle = "esc closes · L changes the limits"
            text = Text(end="")
            for index, (label, value) in enumerate(info_rows(self.config)):
                if index:
                    text.append("\n")
                text.append(f"{label:<16}", style="dim")
                text.append(value, style="bold")
            yield Static(text, classes="queue-info")

    def action_close(self) -> None:
        self.dismiss(None)
