"""A row-cursor DataTable whose rows are replaced on each refresh while the cursor stays on the same key."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.render import measure
from textual.widgets import DataTable

#: One table column: its key, its header label, and its width (None: as wide as its widest cell).
Column = tuple[str, str, int | None]


def add_fitted_rows(table: DataTable, rows: Iterable[tuple[str, Sequence[Text]]]) -> None:
    """Add rows keyed by id, widening the as-wide-as-their-widest-cell columns at once.

    A DataTable measures new rows only when it next idles, and a frame drawn before that caches each cell at the
    old width (its cell cache is not keyed by width): on a busy machine a column stayed cut to its header's width
    ("Timeo" for a whole error) until the next change. Measured here, every frame draws the final widths."""
    columns, console = list(table.columns.values()), table.app.console
    for key, cells in rows:
        for column, cell in zip(columns, cells, strict=False):
            if column.auto_width:  # as DataTable measures a cell
                column.content_width = max(column.content_width, measure(console, cell, 1))
        table.add_row(*cells, key=key)


class KeyedTable(DataTable):
    """Rows keyed by an id (a worker process, a schedule, an audit entry); subclasses name the `COLUMNS`."""

    #: Without a description: enter selects nothing here unless a subclass says what it opens.
    BINDINGS = [Binding("enter", "select_cursor", show=False)]
    COLUMNS: ClassVar[tuple[Column, ...]] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.keys: list[str] = []  # as shown, top to bottom

    def on_mount(self) -> None:
        for key, label, width in self.COLUMNS:
            self.add_column(Text(label), key=key, width=width)

    @property
    @abstractmethod
    def highlighted(self) -> Any:
        """The record under the cursor, or None; each table keeps its own records by key."""
        raise NotImplementedError

    @property
    def highlighted_key(self) -> str | None:
        if not self.keys or not 0 <= self.cursor_row < self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def show_rows(self, rows: list[tuple[str, list[Text]]]) -> None:
        """Replace every row; the cursor goes back to the key it was on, else stays at its position."""
        keep_key, keep_row = self.highlighted_key, self.cursor_row
        self.clear()
        add_fitted_rows(self, rows)
        self.keys = [key for key, _ in rows]
        if self.keys:
            row = self.keys.index(keep_key) if keep_key in self.keys else min(max(keep_row, 0), len(self.keys) - 1)
            self.move_cursor(row=row, animate=False, scroll=True)

    def step(self, rows: int) -> None:
        self.move_cursor(row=self.cursor_row + rows)

    def edge(self, bottom: bool) -> None:
        self.move_cursor(row=self.row_count - 1 if bottom else 0)
