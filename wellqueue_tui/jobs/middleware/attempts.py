"""Attempts and backoff (Bull-style): times each delivery and decides its Outcome — completed, retried after
an exponential or fixed delay, or failed for good after the last attempt or a permanent error."""

from __future__ import annotations

import json
import threading
import time
import traceback
from typing import Any
from uuid import uuid4

from dramatiq.common import dq_name, q_name
from dramatiq.middleware import Middleware
from dramatiq.middleware.time_limit import TimeLimitExceeded
from pydantic import ValidationError

from .. import cancellation
from ..kind import PermanentJobError
from ..options import Backoff
from .heartbeat import process_label
from .outcome import Outcome, record_outcome, storable

RESULT_MAX_BYTES = 16_384


class Attempts(Middleware):
    """Records each delivery's Outcome on the message; the consumer's finish script applies it (one call)."""

    def __init__(self) -> None:
        self.worker = ""  # this process's label, once the worker boots
        self._local = threading.local()

    def before_worker_boot(self, broker, worker) -> None:
        self.worker = process_label(broker)

    def before_process_message(self, broker, message) -> None:
        self._local.started = time.monotonic()

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        duration_ms = int((time.monotonic() - getattr(self._local, "started", time.monotonic())) * 1000)
        if exception is None:
            record_outcome(message, Outcome("completed", duration_ms, self.worker, result=_encode_result(result)))
            return

        attempt = message.options.get("retries", 0) + 1
        max_attempts = message.options.get("wq_attempts", 1)
        error = storable(_describe(exception, message))
        trace = storable("".join(traceback.format_exception(exception))[-20_000:])
        permanent = isinstance(exception, (PermanentJobError, ValidationError, cancellation.JobCancelled))
        if permanent or attempt >= max_attempts:
            message.fail()
            record_outcome(message, Outcome("failed", duration_ms, self.worker, error, trace))
            return
        delay = Backoff.model_validate(message.options.get("wq_backoff") or {}).delay_ms(attempt)
        retry = message.copy(
            queue_name=dq_name(q_name(message.queue_name)),
            options={"retries": attempt, "eta": int(time.time() * 1000) + delay, "redis_message_id": str(uuid4())},
        )
        record_outcome(message, Outcome("retry", duration_ms, self.worker, error, trace, retry=retry))


def _describe(exception: BaseException, message) -> str:
    if isinstance(exception, cancellation.JobCancelled) and not str(exception):  # stopped hard after the grace
        return cancellation.describe(message.message_id) + " (stopped after the grace period)"
    if isinstance(exception, TimeLimitExceeded):
        limit = message.options.get("time_limit")
        return f"TimeLimitExceeded: stopped after its timeout of {limit} ms" if limit else "TimeLimitExceeded"
    text = str(exception)
    name = type(exception).__name__
    return f"{name}: {text}" if text else name


def _encode_result(result: Any) -> str:
    if result is None:
        return ""
    encoded = json.dumps(result, default=str, sort_keys=True)
    if len(encoded) > RESULT_MAX_BYTES:
        return json.dumps({"truncated": True, "preview": encoded[:RESULT_MAX_BYTES]})
    return encoded
