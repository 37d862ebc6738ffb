"""The skeleton of the workers, schedules and audit screens: a title line, a table of records that keeps its
cursor across refreshes, an empty-state note and the highlighted record in full below the table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from ..auth.permissions import PermissionDenied
from ..sanitize import safe_text
from ..widgets.keyed_table import KeyedTable
from .base import ConsoleScreen

if TYPE_CHECKING:
    from ..console_data import OperationsSource

TableT = TypeVar("TableT", bound=KeyedTable)
RecordT = TypeVar("RecordT")


def record_bindings(*own: Binding, first: str = "First row", last: str = "Last row") -> list[BindingType]:
    """A record screen's keys: Back, then its own, then the hidden row-cursor keys (j/k/g/G).

    Each screen lists them all in its own `BINDINGS`, which is the order the footer and the help screen use."""
    return [
        Binding("escape", "back", "Back"),
        *own,
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("g", "edge(False)", first, show=False),
        Binding("G", "edge(True)", last, show=False),
    ]


class RecordTableScreen(ConsoleScreen, Generic[TableT, RecordT]):
    """Records from the operations source in a `KeyedTable`, reloaded off the event loop on every tick.

    A screen names its table, texts and records (`TABLE`, `NAME`, `LOADING`, `EMPTY`, `RECORD`) and says
    how to fetch them, show them and sum them up (`fetch`, `show_records`, `title_summary`, `detail`)."""

    TABLE: ClassVar[type[KeyedTable]]
    NAME: ClassVar[str]  # the sub-title, and the first word of the title line
    LOADING: ClassVar[str]
    EMPTY: ClassVar[str]
    RECORD: ClassVar[str] = "record"  # what one row is, for "No … here: pick a row first."

    class Loaded(Message):
        def __init__(self, records: list[Any], refusal: str | None = None) -> None:
            super().__init__()
            self.records = records
            self.refusal = refusal

    def __init__(self) -> None:
        super().__init__(classes="fleet-screen")
        self.sub_title = self.NAME
        self.records: list[RecordT] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Static(self.LOADING, classes="fleet-title")
        yield self.TABLE(classes="fleet-table")
        yield Static(self.EMPTY, classes="fleet-empty")
        yield Static(classes="fleet-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(".fleet-empty").display = False
        self.query_one(".fleet-detail").display = False
        self.table.focus()

    @property
    def table(self) -> TableT:
        return cast(TableT, self.query_one(self.TABLE))

    @property
    def source(self) -> OperationsSource:
        """The console's source; these screens are only offered when it reports what they show."""
        return cast("OperationsSource", self.console.source)

    # What each screen says

    def fetch(self) -> list[RecordT]:
        """The records, read from the source (runs in a thread worker)."""
        raise NotImplementedError

    def show_records(self, records: list[RecordT]) -> None:
        """Put the records into the table."""
        raise NotImplementedError

    def title_summary(self) -> Text:
        """What follows the screen's name on the title line."""
        raise NotImplementedError

    def detail(self, record: RecordT) -> Text:
        """The highlighted record in full."""
        raise NotImplementedError

    # Loading

    def refresh_data(self) -> None:
        if not self.is_loading("records"):
            self.load()

    @work(thread=True, exclusive=True, group="records")
    def load(self) -> None:
        try:
            with self.console.reading():
                self.deliver(self.Loaded(self.fetch()))
        except PermissionDenied as exc:  # the session checks a view permission itself; say so instead of crashing
            self.deliver(self.Loaded([], str(exc)))

    def on_record_table_screen_loaded(self, message: Loaded) -> None:
        self.records = message.records
        self.show_records(message.records)
        self.table.display = bool(message.records)
        empty = self.query_one(".fleet-empty", Static)
        empty.display = not message.records
        empty.update(safe_text(message.refusal, 300) if message.refusal else self.EMPTY)
        self.show_title()
        self.show_detail()
        self.refresh_bindings()

    def show_title(self) -> None:
        text = Text(end="")
        text.append(self.NAME, style="bold")
        text.append_text(self.title_summary())
        self.query_one(".fleet-title", Static).update(text)

    @on(DataTable.RowHighlighted)
    def show_detail(self) -> None:
        record = self.table.highlighted
        detail = self.query_one(".fleet-detail", Static)
        detail.display = record is not None
        if record is not None:
            detail.update(self.detail(record))

    # Keys

    def action_back(self) -> None:
        self.dismiss()

    def action_cursor(self, step: int) -> None:
        self.table.step(step)

    def action_edge(self, bottom: bool) -> None:
        self.table.edge(bottom)

    def target(self) -> RecordT | None:
        """The highlighted record, or None after telling the operator to pick a row."""
        record = self.table.highlighted
        if record is None:
            self.notify(f"No {self.RECORD} here: pick a row first.", markup=False)
        return record
