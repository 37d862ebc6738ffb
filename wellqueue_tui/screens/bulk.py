"""Bulk actions on a search's matches: the preview question (exact count, breakdown by queue and state) and
the progress dialog that runs the action batch by batch and can be cancelled between batches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from ..jobs.actions import ActionResult
from ..jobs.search import SearchMatch
from ..sanitize import safe_str, safe_text
from .operator_actions import IRREVERSIBLE, jobs_phrase

#: Rows of the breakdown the preview lists; the rest are summed on one line.
BREAKDOWN_ROWS = 8

#: What a bulk call looks like to the dialog: it takes the progress callback and returns the outcome.
BulkCall = Callable[[Callable[[int, int], bool]], ActionResult]


def breakdown(matches: list[SearchMatch]) -> list[tuple[str, str, int]]:
    """(queue, state, jobs) of the matches, the largest first (ties by queue, then state)."""
    counts = Counter((match.queue, match.state) for match in matches)
    return sorted(((queue, state, n) for (queue, state), n in counts.items()), key=lambda row: (-row[2], row[:2]))


def preview_text(verb: str, matches: list[SearchMatch], query: str, *, complete: bool) -> Text:
    """The question before a bulk action: how many jobs, which the action applies to, where they are."""
    text = Text(end="")
    text.append(f"{verb.capitalize()} {jobs_phrase(len(matches), 'matching')}", style="bold")
    text.append(" of the search ")
    text.append_text(safe_text(query or "(everything)", 80, style="bold"))
    text.append("?\n")
    if verb == "retry":
        failed = sum(1 for match in matches if match.state == "failed")
        text.append(f"Retry applies to failed jobs: {failed} of them are failed; the others stay as they are.")
    else:
        text.append("Running jobs are left to finish." + IRREVERSIBLE)
    if not complete:
        text.append("\nThe search was cancelled before the end: only the matches found so far.", style="bold")
    rows = breakdown(matches)
    text.append("\n\n")
    text.append(f"{'queue':<24} {'state':<12} {'jobs':>8}", style="dim")
    for queue, state, count in rows[:BREAKDOWN_ROWS]:
        text.append("\n")
        text.append_text(safe_text(queue, 24))
        text.append(" " * max(1, 25 - len(safe_str(queue, 24))))
        text.append(f"{state:<12} {count:>8,}")
    if len(rows) > BREAKDOWN_ROWS:
        rest = sum(count for _queue, _state, count in rows[BREAKDOWN_ROWS:])
        text.append(f"\n… {len(rows) - BREAKDOWN_ROWS} more queue/state pairs with {rest:,} jobs", style="dim")
    return text


class BulkProgressScreen(ModalScreen[ActionResult | None]):
    """Runs one bulk call in a thread, showing jobs done of jobs asked; esc stops it after the current batch.
    Dismisses with the outcome, or None when the call failed (its error is notified)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    class Advanced(Message):
        def __init__(self, done: int, asked: int) -> None:
            super().__init__()
            self.done = done
            self.asked = asked

    class Finished(Message):
        def __init__(self, result: ActionResult | None) -> None:
            super().__init__()
            self.result = result

    def __init__(self, title: str, asked: int, call: BulkCall) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.asked = asked
        self.call = call
        self.cancelled = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog bulk-dialog") as dialog:
            dialog.border_title = Text(self.title_text)
            dialog.border_subtitle = Text("esc stops after this batch")
            yield Static(Text(f"0 of {self.asked:,} jobs"), classes="bulk-count")
            yield ProgressBar(total=max(self.asked, 1), show_eta=False, classes="bulk-bar")

    def on_mount(self) -> None:
        self.run_call()

    @work(thread=True, group="bulk")
    def run_call(self) -> None:
        def progress(done: int, asked: int) -> bool:
            self.post_message(self.Advanced(done, asked))
            return not self.cancelled

        try:
            result: ActionResult | None = self.call(progress)
        except Exception as exc:  # the source's refusal or failure (or Redis gone): its text is for the operator
            self.app.notify(safe_str(exc, 300), severity="error", markup=False)
            result = None
        self.post_message(self.Finished(result))

    def on_bulk_progress_screen_advanced(self, message: Advanced) -> None:
        self.query_one(ProgressBar).update(progress=message.done)
        note = "  stopping after this batch…" if self.cancelled else ""
        self.query_one(".bulk-count", Static).update(Text(f"{message.done:,} of {message.asked:,} jobs{note}"))

    def on_bulk_progress_screen_finished(self, message: Finished) -> None:
        self.dismiss(message.result)

    def action_cancel(self) -> None:
        self.cancelled = True
        self.query_one(".bulk-count", Static).update(Text("stopping after this batch…"))


def run_bulk(console: Any, title: str, asked: int, call: BulkCall, after: Callable[[], object]) -> None:
    """Push the progress dialog for `call`; its outcome becomes a notification, then `after` runs."""

    def finished(result: ActionResult | None) -> None:
        if result is not None:
            console.notify(safe_str(result.message, 300), markup=False)
            if result.warning:
                console.notify(safe_str(result.warning, 300), severity="warning", markup=False)
        after()

    console.push_screen(BulkProgressScreen(title, asked, call), finished)
