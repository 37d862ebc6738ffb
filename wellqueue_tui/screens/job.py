"""One job in full: payload, state timeline, progress, error and traceback, its flow, logs, result, options."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, ProgressBar, Static

from ..console_data import offers
from ..jobs.models import JobDetail, JobState
from ..sanitize import redact, safe_json, safe_str, safe_text
from ..widgets.flow_tree import flow_text
from ..widgets.job_options import displayed_options
from ..widgets.state_timeline import StateTimeline
from .base import ConsoleScreen
from .clipboard import copy_incident, copy_job_id
from .fix_and_rerun import edit_and_retry, history_text, new_from

#: Characters each section may show: together they stay near the 64 KiB a detail view can render quickly.
SECTION_LIMITS = {"payload": 32768, "error": 4096, "traceback": 16384, "logs": 16384, "result": 4096, "options": 4096}

STATE_STYLES: dict[str, str] = {
    JobState.FAILED: "bold red",
    JobState.COMPLETED: "bold green",
    JobState.ACTIVE: "bold yellow",
    JobState.DELAYED: "bold magenta",
    JobState.WAITING_CHILDREN: "bold cyan",
}


def heading_text(detail: JobDetail) -> Text:
    job = detail.summary
    text = Text(end="")
    text.append("Job ", style="dim")
    text.append_text(safe_text(job.id, 80, style="bold"))
    text.append("  ")
    text.append(job.state.upper(), style=STATE_STYLES.get(job.state, "bold"))  # StrEnum keys match plain str
    text.append("  in ", style="dim")
    text.append_text(safe_text(job.queue, 60))
    text.append("  kind ", style="dim")
    text.append_text(safe_text(job.kind, 60))
    if job.priority is not None:
        text.append(f"  priority {job.priority}", style="dim")
    if job.org:
        text.append("  org ", style="dim")
        text.append_text(safe_text(job.org, 40))
    return text


def logs_text(lines: list[str]) -> Text:
    budget = SECTION_LIMITS["logs"]
    shown = "\n".join(safe_str(line, 1000) for line in lines)
    return safe_text(shown, budget, multiline=True)


class JobScreen(ConsoleScreen):
    """Live detail of one job; r/P/d act on it, escape goes back."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "retry", "Retry"),
        Binding("P", "promote", "Promote"),
        Binding("d", "remove", "Remove"),
        Binding("x", "cancel_job", "Cancel running"),
        Binding("e", "edit_retry", "Fix & retry"),
        Binding("n", "new_from", "New job from this one", show=False),
        Binding("y", "copy_id", "Copy id"),
        Binding("Y", "copy_incident", "Copy summary"),
        Binding("j", "scroll(1)", "Scroll down", show=False),
        Binding("k", "scroll(-1)", "Scroll up", show=False),
        Binding("g", "edge(False)", "Top", show=False),
        Binding("G", "edge(True)", "Bottom", show=False),
    ]
    GATED_ACTIONS = {
        "retry": "retry",
        "promote": "promote",
        "remove": "remove",
        "edit_retry": "retry",
        "new_from": "enqueue",
    }

    class Loaded(Message):
        def __init__(self, detail: JobDetail | None) -> None:
            super().__init__()
            self.detail = detail

    def __init__(self, job_id: str) -> None:
        super().__init__(classes="job-screen")
        self.job_id = job_id
        self.detail: JobDetail | None = None
        self.sub_title = f"Job {safe_str(job_id, 60)}"

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Static(Text.assemble("Loading job ", safe_text(self.job_id, 80), "…"), classes="job-heading")
        yield ProgressBar(total=100, show_eta=False, classes="job-progress")
        with VerticalScroll(classes="job-body"):
            yield StateTimeline(classes="job-section", id="section-timeline")
            for name in ("error", "traceback", "flow", "payload", "history", "logs", "result", "options", "problems"):
                yield Static(classes="job-section", id=f"section-{name}")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for section in self.query(".job-section"):
            section.border_title = section.id.removeprefix("section-")  # type: ignore[union-attr]
            section.display = False
        self.query_one(".job-body").focus()

    # Loading

    def refresh_data(self) -> None:
        if not self.is_loading("job"):
            self.load()

    @work(thread=True, exclusive=True, group="job")
    def load(self) -> None:
        with self.console.reading():
            self.deliver(self.Loaded(self.console.source.get_job(self.job_id)))

    def on_job_screen_loaded(self, message: Loaded) -> None:
        detail = message.detail
        if detail is None:
            self.show_missing()
            return
        if detail != self.detail:
            self.detail = detail
            self.show_detail(detail)
        self.query_one(StateTimeline).show(detail, self.console.now())  # relative times move on
        self.refresh_bindings()

    def show_missing(self) -> None:
        self.detail = None
        heading = Text.assemble(
            "Job ",
            safe_text(self.job_id, 80, style="bold"),
            " not found: it was removed, or it belongs to another organization.",
        )
        self.query_one(".job-heading", Static).update(heading)
        self.query_one(ProgressBar).display = False
        for section in self.query(".job-section"):
            section.display = False

    def show_detail(self, detail: JobDetail) -> None:
        job = detail.summary
        self.query_one(".job-heading", Static).update(heading_text(detail))
        self.query_one(ProgressBar).update(progress=job.progress)
        self.query_one(ProgressBar).display = True
        self.query_one(StateTimeline).display = True
        failed = job.state == JobState.FAILED
        error_style = "red" if failed else "yellow"  # else an earlier attempt's: retried, running again or done
        self.query_one("#section-error", Static).border_title = "error" if failed else "earlier attempt failed"
        sections: dict[str, Text | None] = {
            "error": safe_text(job.error, SECTION_LIMITS["error"], multiline=True, style=error_style)
            if job.error
            else None,
            "traceback": safe_text(detail.traceback, SECTION_LIMITS["traceback"], multiline=True)
            if detail.traceback
            else None,
            "flow": flow_text(detail.parent, detail.children),
            "payload": safe_json(redact(job.data), SECTION_LIMITS["payload"]),
            "history": history_text(detail),
            "logs": logs_text(detail.logs) if detail.logs else None,
            "result": safe_json(redact(detail.result), SECTION_LIMITS["result"]) if detail.result is not None else None,
            "options": safe_json(redact(displayed_options(detail)), SECTION_LIMITS["options"]),
            "problems": safe_text("\n".join(detail.problems), 2000, multiline=True) if detail.problems else None,
        }
        for name, content in sections.items():
            section = self.query_one(f"#section-{name}", Static)
            section.display = content is not None
            if content is not None:
                section.update(content)

    # Keys

    def action_back(self) -> None:
        self.dismiss()

    def action_scroll(self, step: int) -> None:
        body = self.query_one(".job-body", VerticalScroll)
        body.scroll_relative(y=step, animate=False, immediate=True)  # deferred, a burst would add to a stale offset

    def action_edge(self, bottom: bool) -> None:
        body = self.query_one(".job-body", VerticalScroll)
        if bottom:
            body.scroll_end(animate=False, immediate=True)
        else:
            body.scroll_home(animate=False, immediate=True)

    def action_copy_id(self) -> None:
        copy_job_id(self.console, self.job_id)

    def action_copy_incident(self) -> None:
        if self.detail is None:
            self.notify("Nothing to copy: the job is not loaded (or no longer exists).", markup=False)
            return
        copy_incident(self.console, self.detail)

    def action_retry(self) -> None:
        self.console.operator.retry([self.job_id])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Edit and new-job keys exist only for a source that can check payloads and enqueue."""
        if action in ("edit_retry", "new_from") and not offers(self.console.source, "retry_with_data"):
            return False
        return super().check_action(action, parameters)

    def action_edit_retry(self) -> None:
        if self.detail is not None:
            edit_and_retry(self.console, self.detail)

    def action_new_from(self) -> None:
        if self.detail is not None:
            new_from(self.console, self.detail)

    def action_promote(self) -> None:
        self.console.operator.promote([self.job_id])

    def action_cancel_job(self) -> None:
        if self.detail is None or self.detail.summary.state != "active":
            self.notify("Only a running job can be cancelled; remove a waiting one with d.", markup=False)
            return
        self.console.operator.cancel(self.job_id, after=self.refresh_data)

    def action_remove(self) -> None:
        if self.detail is None:
            self.notify("Nothing to remove: the job is not loaded (or no longer exists).", markup=False)
            return
        job = self.detail.summary
        self.console.operator.remove(job.queue, [self.job_id], job.state, after=self.leave)

    def leave(self) -> None:
        """Back to where the job was listed, unless the operator already went elsewhere."""
        if self.is_current:
            self.dismiss()
