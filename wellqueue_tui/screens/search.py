"""Search every queue and state (`/` from the overview, `:search`): type field-qualified terms, watch
"scanned N of M" while the server walks the sets, open a match, mark some, or retry / remove all matches."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import cast

from rich.text import Text
from textual import events, on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, get_current_worker

from ..auth.permissions import Action
from ..console_data import SearchSource
from ..jobs.models import JobSummary
from ..jobs.search import MAX_MATCHES, SearchMatch, SearchProgress
from ..jobs.search_query import QueryError, SearchQuery, parse_query
from ..sanitize import safe_str
from ..widgets.job_table import ERROR, KEY, SEARCH_COLUMNS, Column, JobTable, error_width
from .base import ConsoleScreen
from .bulk import preview_text, run_bulk
from .confirm import ConfirmScreen

#: Rows the screen lists (the first matches found); bulk actions reach every match.
SHOWN_ROWS = 200
#: The error width below which the key column makes way for the error.
ROOMY_ERROR = 20
PLACEHOLDER = "error:timeout well:… org:… kind:… queue:… state:failed age:>2h words · enter searches"


class SearchScreen(ConsoleScreen):
    """The query line, the scan's progress and bound, and the first matches as job rows."""

    BINDINGS = [
        Binding("escape", "back", "Back / cancel"),
        Binding("slash", "edit_query", "Edit search", key_display="/", priority=True),
        Binding("r", "retry_matches", "Retry matches"),
        Binding("d", "remove_matches", "Remove matches"),
        Binding("space", "mark", "Mark row", show=False),
        Binding("V", "mark_range", "Mark range", show=False),
        Binding("A", "mark_all", "Mark all matches", show=False),
        Binding("u", "clear_marks", "Clear marks", show=False),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]
    GATED_ACTIONS = {"retry_matches": Action.RETRY_ALL, "remove_matches": Action.REMOVE}

    class Stepped(Message):
        """One step of the running search."""

        def __init__(self, query: SearchQuery, progress: SearchProgress) -> None:
            super().__init__()
            self.query = query
            self.progress = progress

    def __init__(self, text: str = "") -> None:
        super().__init__(classes="search-screen")
        self.sub_title = "Search"
        self.initial = text
        self.query_run: SearchQuery | None = None
        self.matches: list[SearchMatch] = []
        self.rows: list[JobSummary] = []
        self.marked: set[str] = set()
        self.range_start: int | None = None  # the row a range mark starts from
        self.last: SearchProgress | None = None
        self.search_worker: Worker[None] | None = None
        self.stopped = False  # cancelled by the operator before the end
        self.typing = not text.strip()  # keys typed right after `/` belong in the query line

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Input(value=self.initial, placeholder=PLACEHOLDER, classes="search-input")
        yield Static(classes="search-error")
        yield Static(classes="search-title")
        yield JobTable(classes="job-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show_rows()
        self.query_one(".search-error", Static).display = False
        self.show_title()
        if self.initial.strip():
            self.start(self.initial)
        else:
            self.set_focus(self.field)

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    def on_key(self, event: events.Key) -> None:
        """Keys typed right after `/` reach the screen before the query line has focus, and belong in it
        (not to the row keys): handled here so a fast `/error:timeout<enter>` runs as typed."""
        if not self.typing or self.focused is self.field:
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.start(self.field.value)
        elif event.is_printable and event.character is not None:
            event.stop()
            event.prevent_default()
            self.field.insert_text_at_cursor(event.character)

    @property
    def field(self) -> Input:
        return self.query_one(".search-input", Input)

    @property
    def running(self) -> bool:
        return self.search_worker is not None and self.search_worker.is_running

    # Searching

    @on(Input.Submitted, ".search-input")
    def submitted(self, event: Input.Submitted) -> None:
        self.start(event.value)

    def start(self, text: str) -> None:
        """Parse `text`; a mistake is shown under the line, otherwise the scan starts (replacing any running)."""
        error = self.query_one(".search-error", Static)
        try:
            query = parse_query(text, sorted(self.console.counts) or None)
        except QueryError as exc:
            error.display = True
            error.update(Text(safe_str(exc, 300)))
            return
        error.display = False
        self.typing = False
        self.query_run = query
        self.matches, self.rows, self.marked, self.range_start = [], [], set(), None
        self.last, self.stopped = None, False
        self.show_rows()
        self.set_focus(self.table)
        self.search_worker = self.run_search(query)
        self.show_title()

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, query: SearchQuery) -> None:
        source = cast(SearchSource, self.console.source)
        worker = get_current_worker()
        with self.console.reading():
            for progress in source.search(query, SHOWN_ROWS):
                if worker.is_cancelled:
                    return  # stop iterating: the scan holds nothing open between steps
                self.post_message(self.Stepped(query, progress))

    def on_search_screen_stepped(self, message: Stepped) -> None:
        if message.query is not self.query_run or self.stopped:
            return  # a step of a search replaced or cancelled since
        progress = message.progress
        self.last = progress
        self.matches.extend(progress.matches)
        if progress.rows:
            self.rows.extend(progress.rows)
            self.show_rows()
        self.show_title()

    def show_rows(self) -> None:
        """The rows found so far; the error column gets the width the others leave, set (not measured when
        idle), so it is the same however the rows arrived."""
        columns: tuple[Column, ...] = SEARCH_COLUMNS
        if error_width(columns, self.table.size.width) < ROOMY_ERROR:  # a narrow terminal: the error first
            columns = tuple(column for column in columns if column is not KEY)
        width = error_width(columns, self.table.size.width)
        self.table.use_columns((*columns[:-1], dataclasses.replace(ERROR, width=width)))
        self.table.show_jobs(self.rows, self.console.now(), self.marked)

    def on_resize(self) -> None:
        self.show_rows()

    def show_title(self) -> None:
        text = Text(end="")
        progress = self.last
        if self.query_run is None:
            text.append("Type a search and press enter: every queue and state unless queue: or state: narrows it.")
        elif progress is None:
            text.append("starting…", style="dim")
        else:
            found = f"{len(self.matches):,} {'match' if len(self.matches) == 1 else 'matches'}"
            if progress.done:
                text.append(found, style="bold")
                text.append(f" in {progress.total:,} jobs", style="dim")
                if progress.capped:
                    text.append(f"  stopped at {MAX_MATCHES:,} matches: narrow the search", style="bold")
            else:
                verb = "cancelled at" if self.stopped else "scanned"
                text.append(f"{verb} {progress.scanned:,} of {progress.total:,}", style="bold")
                text.append(f" · {found}")
            bound = "the organization's index" if progress.indexed else "a scan of every job"
            text.append(f"  ({progress.sets} state sets, {bound})", style="dim")
            if len(self.matches) > len(self.rows):
                text.append(f"  showing the first {len(self.rows)}", style="dim")
        if self.marked:
            text.append(f"  {len(self.marked):,} marked", style="bold")
        self.query_one(".search-title", Static).update(text)

    def action_edit_query(self) -> None:
        if self.focused is self.field:
            raise SkipAction()  # a `/` typed into the query is text
        self.typing = True
        self.set_focus(self.field)

    def action_back(self) -> None:
        if self.running and self.search_worker is not None:
            self.search_worker.cancel()
            self.stopped = True
            self.show_title()
            self.notify("Search cancelled.", markup=False)
            return
        self.dismiss()

    # Rows and marks

    def action_cursor(self, step: int) -> None:
        self.table.move_cursor(row=self.table.cursor_row + step)

    def action_mark(self) -> None:
        job_id = self.table.highlighted_id
        if job_id is None:
            return
        self.marked.symmetric_difference_update({job_id})
        self.range_start = self.table.cursor_row
        self.table.mark(job_id, job_id in self.marked)
        self.show_title()

    def action_mark_range(self) -> None:
        """Mark every row between the last row marked (or the first) and the cursor."""
        if not self.table.jobs:
            return
        start, end = sorted((self.range_start or 0, self.table.cursor_row))
        for job in self.table.jobs[start : end + 1]:
            self.marked.add(job.id)
            self.table.mark(job.id, True)
        self.range_start = self.table.cursor_row
        self.show_title()

    def action_mark_all(self) -> None:
        """Mark every match, listed or not."""
        self.marked = {match.id for match in self.matches}
        self.show_rows()
        self.show_title()

    def action_clear_marks(self) -> None:
        self.marked = set()
        self.range_start = None
        self.show_rows()
        self.show_title()

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.console.open_job(event.row_key.value)

    # Bulk actions: on the marked matches, else on every match

    def targets(self) -> list[SearchMatch] | None:
        if self.running:
            self.notify("The search is still running: wait for it, or press esc to act on what it found.")
            return None
        chosen = [match for match in self.matches if match.id in self.marked] if self.marked else self.matches
        if not chosen:
            self.notify("No matches to act on.", markup=False)
            return None
        return chosen

    def action_retry_matches(self) -> None:
        self.bulk("retry", Action.RETRY_ALL)

    def action_remove_matches(self) -> None:
        self.bulk("remove", Action.REMOVE)

    def bulk(self, verb: str, permission: Action) -> None:
        if not self.console.operator.permitted(permission) or (chosen := self.targets()) is None:
            return
        text = self.query_run.text if self.query_run else ""
        complete = self.last is not None and self.last.done
        question = preview_text(verb, chosen, text, complete=complete)
        source = cast(SearchSource, self.console.source)
        call = source.retry_matches if verb == "retry" else source.remove_matches
        ids = [match.id for match in chosen]

        def answered(yes: bool | None) -> None:
            if yes:
                title = f"{verb.capitalize()} {len(ids):,} matching jobs"
                run_bulk(self.console, title, len(ids), partial(call, ids, text), self.rerun)

        label = f"{verb.capitalize()} {len(ids):,}"
        self.console.push_screen(ConfirmScreen(question, label, title=f"{verb.capitalize()} matches"), answered)

    def rerun(self) -> None:
        """After a bulk action: search again, so the rows show where the jobs are now."""
        if self.query_run is not None:
            self.start(self.query_run.text)
