"""Alert rules as stored in Redis (the schema's `alert_rules` hash, JSON per rule): kinds, thresholds with a lower resolve
level, hold times, recipients, mutes; CRUD, and the four defaults of the SaaS jobs document."""

from __future__ import annotations

import builtins
import re
from typing import Any, Literal
from urllib.parse import urlsplit

import redis
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..connection import transaction_value
from ..jobs.keys import KeySchema
from ..sanitize import safe_str

AlertKind = Literal[
    "waiting_depth", "failure_rate", "stuck_jobs", "latency", "no_consumer", "redis_unreachable", "crash_loop"
]
ALERT_KINDS: tuple[str, ...] = AlertKind.__args__  # type: ignore[attr-defined]
EVERY_QUEUE = "*"
#: What the threshold means for each kind, for help texts and error messages.
THRESHOLD_MEANING = {
    "waiting_depth": "jobs waiting",
    "failure_rate": "failed share of finished attempts (0.1 = 10%)",
    "stuck_jobs": "stuck jobs",
    "latency": "seconds the oldest waiting job has waited",
    "no_consumer": "unused (fires when jobs wait and no worker listens)",
    "redis_unreachable": "unused",
    "crash_loop": "worker processes in a crash loop",
}
#: Where a value must fall back to before a firing alert resolves, as a share of the threshold.
RESOLVE_SHARE = {"waiting_depth": 0.8, "latency": 0.8, "failure_rate": 0.5}
EDITABLE_FIELDS = frozenset(
    {
        "queue",
        "threshold",
        "resolve_below",
        "window_minutes",
        "min_samples",
        "for_s",
        "clear_for_s",
        "recipients",
        "webhook_url",
        "enabled",
        "description",
    }
)
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


class AlertRuleError(ValueError):
    """A rule is invalid, missing or already exists; the message names the field or rule."""


class AlertRule(BaseModel):
    """One alert rule: fires when the kind's value stays above `threshold` for `for_s` seconds, resolves
    once it stayed at or below the resolve level for `clear_for_s` seconds."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str
    kind: AlertKind
    queue: str = Field(default=EVERY_QUEUE, min_length=1, max_length=100)
    threshold: float = Field(default=0.0, ge=0)
    resolve_below: float | None = Field(default=None, ge=0)
    window_minutes: int = Field(default=5, ge=1, le=24 * 60)
    min_samples: int = Field(default=5, ge=1)
    for_s: float = Field(default=0.0, ge=0, le=86_400)
    clear_for_s: float = Field(default=30.0, ge=0, le=86_400)
    recipients: list[str] = Field(default_factory=list, max_length=50)
    webhook_url: str | None = Field(default=None, max_length=2048)
    enabled: bool = True
    muted_until: float | None = None  # epoch seconds (Redis server time); notifications are held back until then
    description: str = Field(default="", max_length=300)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("name must be 1-40 lowercase letters, digits, '-' or '_', starting with a letter or digit")
        return value

    @field_validator("queue")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ch.isspace() or ord(ch) < 0x20 for ch in value) or "|" in value:
            raise ValueError("queue must be a queue name or * (no spaces, control characters or '|')")
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for index, address in enumerate(value):
            if not _EMAIL.fullmatch(address):
                raise ValueError(f"recipients[{index}] is not an email address (expected name@example.com)")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or any(ch.isspace() for ch in value):
            raise ValueError("webhook_url must be an https:// URL naming a host")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> AlertRule:
        if self.kind == "failure_rate" and not 0 < self.threshold <= 1:
            raise ValueError("threshold of a failure_rate rule is a share between 0 and 1 (0.1 = 10%)")
        if self.resolve_below is not None and self.resolve_below > self.threshold:
            raise ValueError("resolve_below must not be above threshold (it is the lower level that resolves)")
        if self.kind == "redis_unreachable" and self.queue != EVERY_QUEUE:
            raise ValueError("a redis_unreachable rule applies to every queue: leave queue as *")
        return self

    @property
    def resolve_level(self) -> float:
        """The value at or below which a firing alert starts to resolve (hysteresis)."""
        if self.resolve_below is not None:
            return self.resolve_below
        return self.threshold * RESOLVE_SHARE.get(self.kind, 1.0)

    def muted(self, now: float) -> bool:
        return self.muted_until is not None and now < self.muted_until

    def describe(self) -> str:
        """One line: what the rule watches, e.g. "waiting_depth > 100 on *, for 60 s"."""
        hold = f", for {self.for_s:g} s" if self.for_s else ""
        if self.kind == "failure_rate":
            return f"failure rate > {self.threshold:.0%} over {self.window_minutes} min on {self.queue}{hold}"
        if self.kind in ("no_consumer", "redis_unreachable"):
            return f"{self.kind.replace('_', ' ')} on {self.queue}{hold}"
        return f"{self.kind} > {self.threshold:g} on {self.queue}{hold}"


def build_rule(**fields: Any) -> AlertRule:
    """Validate a rule, turning pydantic's errors into one AlertRuleError naming the fields."""
    try:
        return AlertRule.model_validate(fields)
    except ValidationError as exc:
        raise AlertRuleError(_explain(exc)) from None


def default_rules() -> list[AlertRule]:
    """The SaaS jobs document's alerts: depth > 100 waiting, failure rate > 10% in 5 minutes, jobs stalled
    > 30 s, Redis connection failures."""
    recipients = ["operations@example.com"]
    return [
        AlertRule(
            name="queue-depth",
            kind="waiting_depth",
            threshold=100,
            resolve_below=80,
            for_s=60,
            clear_for_s=60,
            recipients=recipients,
            description="More than 100 jobs waiting in a queue.",
        ),
        AlertRule(
            name="failure-rate",
            kind="failure_rate",
            threshold=0.10,
            resolve_below=0.05,
            window_minutes=5,
            min_samples=5,
            clear_for_s=120,
            recipients=recipients,
            description="More than 10% of the jobs finished in 5 minutes failed.",
        ),
        AlertRule(
            name="stalled-jobs",
            kind="stuck_jobs",
            threshold=0,
            for_s=30,
            clear_for_s=30,
            recipients=recipients,
            description="Jobs stuck (past their time limit or worker) for 30 s.",
        ),
        AlertRule(
            name="redis-connection",
            kind="redis_unreachable",
            for_s=10,
            clear_for_s=0,
            recipients=recipients,
            description="Redis cannot be reached.",
        ),
    ]


class AlertStore:
    """CRUD over one deployment's alert rules; removing a rule also forgets its per-queue state."""

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self._client = client
        self.keys = keys

    def list(self) -> list[AlertRule]:
        """Every readable rule by name (an unreadable one is left out: `get` names the problem)."""
        rules = []
        for name, raw in self._client.hgetall(self.keys.alert_rules).items():
            try:
                rules.append(_stored(name, raw))
            except AlertRuleError:
                continue
        return sorted(rules, key=lambda rule: rule.name)

    def get(self, name: str) -> AlertRule | None:
        raw = self._client.hget(self.keys.alert_rules, name)
        return None if raw is None else _stored(name, raw)

    def require(self, name: str) -> AlertRule:
        rule = self.get(name)
        if rule is None:
            raise AlertRuleError(f"no alert rule named {safe_str(name, 60)!r}; `wellqueue alerts list` shows them")
        return rule

    def add(self, rule: AlertRule) -> AlertRule:
        if not self._client.hsetnx(self.keys.alert_rules, rule.name, rule.model_dump_json()):
            raise AlertRuleError(f"alert rule {rule.name!r} already exists; use `update` to change it")
        return rule

    def update(self, name: str, /, **changes: Any) -> AlertRule:
        """Change some fields (re-validated as a whole); name and kind cannot change."""
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise AlertRuleError(
                f"cannot change {', '.join(sorted(unknown))}; editable fields are {', '.join(sorted(EDITABLE_FIELDS))}"
            )
        return self._rewrite(name, lambda rule: build_rule(**{**rule.model_dump(), **changes}))

    def mute(self, name: str, until: float) -> AlertRule:
        """Hold back the rule's notifications until `until` (epoch seconds); it is still evaluated and shown."""
        return self._rewrite(name, lambda rule: rule.model_copy(update={"muted_until": until}))

    def unmute(self, name: str) -> AlertRule:
        return self._rewrite(name, lambda rule: rule.model_copy(update={"muted_until": None}))

    def remove(self, name: str) -> None:
        stale = [field for field, _ in self._client.hscan_iter(self.keys.alert_state, match=f"{name}|*", count=500)]
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.alert_rules, name)
            if stale:
                pipe.hdel(self.keys.alert_state, *stale)
            removed = pipe.execute()[0]
        if not removed:
            raise AlertRuleError(f"no alert rule named {safe_str(name, 60)!r}; `wellqueue alerts list` shows them")

    def install_defaults(self) -> builtins.list[str]:  # `list` here is this class's method
        """Install default_rules() once per Redis, into an empty rule set only; returns the names installed."""

        def apply(pipe: redis.client.Pipeline) -> builtins.list[str]:
            if pipe.exists(self.keys.alert_rules_installed):
                return []
            defaults = default_rules() if pipe.hlen(self.keys.alert_rules) == 0 else []
            pipe.multi()
            for rule in defaults:
                pipe.hset(self.keys.alert_rules, rule.name, rule.model_dump_json())
            pipe.set(self.keys.alert_rules_installed, "1")
            return [rule.name for rule in defaults]

        return transaction_value(self._client, apply, self.keys.alert_rules_installed, self.keys.alert_rules)

    def _rewrite(self, name: str, change) -> AlertRule:
        def apply(pipe: redis.client.Pipeline) -> AlertRule:
            raw = pipe.hget(self.keys.alert_rules, name)
            if raw is None:
                raise AlertRuleError(f"no alert rule named {safe_str(name, 60)!r}; `wellqueue alerts list` shows them")
            updated = change(_stored(name, raw))
            pipe.multi()
            pipe.hset(self.keys.alert_rules, name, updated.model_dump_json())
            return updated

        return transaction_value(self._client, apply, self.keys.alert_rules)


def _stored(name: str | bytes, raw: bytes | str) -> AlertRule:
    try:
        return AlertRule.model_validate_json(raw)
    except ValidationError as exc:
        label = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        raise AlertRuleError(
            f"alert rule {safe_str(label, 60)!r} is stored in an unreadable form "
            f"({_explain(exc)}); remove it and add it again"
        ) from None


def _explain(exc: ValidationError) -> str:
    return "; ".join(
        safe_str(f"{'.'.join(str(p) for p in err['loc']) or 'rule'}: {err['msg']}", 200) for err in exc.errors()[:5]
    )
