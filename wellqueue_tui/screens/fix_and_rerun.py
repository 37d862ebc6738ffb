"""Fix and re-run: edit a failed job's payload and retry it (after a diff), start a new job from any job's
payload (a duplicate, or a re-run of a completed job), or add a new job to a queue from its kind's example."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import cast

from rich.text import Text

from ..auth.permissions import Action
from ..console_data import EditSource
from ..jobs.models import JobDetail, JobState
from ..sanitize import safe_text
from .confirm import ConfirmScreen
from .context import ConsoleContext
from .payload_editor import PayloadEditorScreen, diff_text, pretty

#: Characters of each replaced payload the history section shows.
HISTORY_PAYLOAD_CHARS = 2000


def edit_and_retry(console: ConsoleContext, detail: JobDetail) -> None:
    job = detail.summary
    if not console.operator.permitted(Action.RETRY):
        return
    if job.state != JobState.FAILED:
        console.notify(f"Only a failed job can be edited and retried; this one is {job.state}. n starts a new job.")
        return
    source = cast(EditSource, console.source)

    def edited(data: object | None) -> None:
        if data is None:
            return
        question = Text.assemble("Retry job ", safe_text(job.id, 80, style="bold"), " with this payload?\n\n")
        question.append_text(diff_text(job.data, data))
        call = partial(source.retry_with_data, job.id, job.queue, data)

        def answered(yes: bool | None) -> None:
            if yes:
                console.perform(call)

        console.push_screen(ConfirmScreen(question, "Retry", title="Payload changes"), answered)

    title = f"Edit the payload of {job.id}, then retry"
    console.push_screen(PayloadEditorScreen(title, job.queue, job.data, source.check_payload), edited)


def new_from(console: ConsoleContext, detail: JobDetail) -> None:
    """A new job (new id) on the same queue, starting from this job's payload."""
    job = detail.summary
    if not console.operator.permitted(Action.ENQUEUE):
        return
    source = cast(EditSource, console.source)

    def edited(data: object | None) -> None:
        if data is not None:
            console.perform(partial(source.submit_job, job.queue, data))

    title = f"New {job.queue} job from {job.id}"
    console.push_screen(PayloadEditorScreen(title, job.queue, job.data, source.check_payload), edited)


def new_job(console: ConsoleContext, queue: str) -> None:
    """A new job on `queue`, starting from its kind's example payload."""
    if not console.operator.permitted(Action.ENQUEUE):
        return
    source = cast(EditSource, console.source)

    def edited(data: object | None) -> None:
        if data is not None:
            console.perform(partial(source.submit_job, queue, data))

    example = source.example_payload(queue)
    console.push_screen(PayloadEditorScreen(f"New {queue} job", queue, example, source.check_payload), edited)


def history_text(detail: JobDetail) -> Text | None:
    """The payloads operators replaced, newest first, each with when and by whom."""
    if not detail.history:
        return None
    text = Text(end="")
    for index, change in enumerate(reversed(detail.history)):
        if index:
            text.append("\n\n")
        when = datetime.fromtimestamp(change.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        text.append(f"{when}  payload replaced by ", style="dim")
        text.append_text(safe_text(change.by, 60, style="bold"))
        text.append("; it was:\n", style="dim")
        try:
            shown = pretty(json.loads(change.data))
        except ValueError:
            shown = change.data
        text.append_text(safe_text(shown, HISTORY_PAYLOAD_CHARS, multiline=True))
    return text
