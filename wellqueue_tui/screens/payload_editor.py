"""Fix and re-run: edit a job's payload as JSON (highlighted), checked against its job kind's model before it
goes anywhere, with the problems listed under the editor; then a diff of what changes, to confirm."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from ..sanitize import safe_str, safe_text

#: Problems listed under the editor at most.
SHOWN_PROBLEMS = 6
#: Diff lines the confirmation shows at most.
SHOWN_DIFF_LINES = 40

#: Checks a payload for a queue: the problems, one line each (none: valid).
PayloadCheck = Callable[[str, object], list[str]]


def pretty(data: object) -> str:
    """A payload as the editor shows it: indented, keys sorted (as the registry stores them)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def parse_problems(text: str) -> tuple[object, list[str]]:
    """The JSON in `text`, or the problem with it (line and column)."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
    except RecursionError:
        return None, ["not valid JSON: nested too deeply"]


def diff_text(before: object, after: object) -> Text:
    """A unified diff of two payloads, removed lines red and added green (untrusted text stays literal)."""
    lines = list(difflib.unified_diff(pretty(before).splitlines(), pretty(after).splitlines(), lineterm="", n=1))[2:]
    text = Text(end="")
    if not lines:
        text.append("No change to the payload.", style="dim")
        return text
    for index, line in enumerate(lines[:SHOWN_DIFF_LINES]):
        if index:
            text.append("\n")
        style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
        text.append_text(safe_text(line, 200, style=style))
    if len(lines) > SHOWN_DIFF_LINES:
        text.append(f"\n… {len(lines) - SHOWN_DIFF_LINES} more lines", style="dim")
    return text


class PayloadEditorScreen(ModalScreen[object | None]):
    """Dismisses with the edited payload once it parses and the kind accepts it; None on escape."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Check and continue"),
        Binding("escape", "close", "Cancel"),
    ]

    def __init__(self, title: str, queue: str, data: object, check: PayloadCheck) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.queue = queue
        self.data = data
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog editor-dialog") as dialog:
            dialog.border_title = Text(safe_str(self.title_text, 80))
            dialog.border_subtitle = Text("ctrl+s checks and continues · esc cancels")
            editor = TextArea.code_editor(pretty(self.data), classes="payload-editor", soft_wrap=True)
            if "json" in editor.available_languages:  # needs tree-sitter-json; plain text without it
                editor.language = "json"
            editor.theme = "vscode_dark"
            yield editor
            yield Static(classes="editor-problems")

    def on_mount(self) -> None:
        self.show_problems([])
        self.query_one(TextArea).focus()

    def show_problems(self, problems: list[str]) -> None:
        area = self.query_one(".editor-problems", Static)
        area.display = bool(problems)
        text = Text(end="")
        for index, problem in enumerate(problems[:SHOWN_PROBLEMS]):
            if index:
                text.append("\n")
            text.append("✗ ", style="bold")
            text.append_text(safe_text(problem, 300))
        if len(problems) > SHOWN_PROBLEMS:
            text.append(f"\n… {len(problems) - SHOWN_PROBLEMS} more", style="dim")
        area.update(text)

    def action_submit(self) -> None:
        data, problems = parse_problems(self.query_one(TextArea).text)
        if not problems:
            problems = self.check(self.queue, data)
        if problems:
            self.show_problems(problems)
            return
        self.dismiss(data)

    def action_close(self) -> None:
        self.dismiss(None)
