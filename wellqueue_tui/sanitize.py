"""The one gate for untrusted text (job data, errors, logs, names) on its way to the terminal.

Control, C1, bidi and surrogate characters become visible escapes, length is capped, and the
result is plain `rich.text.Text`: nothing here is ever parsed as markup or passed through raw.
"""

from __future__ import annotations

import re
from typing import Any

from rich.style import Style
from rich.text import Text

#: Characters a line (table cell, title) may not carry through: a newline would break the row.
_READABLE_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

#: Bidi embeddings, overrides and isolates (Trojan Source), plus the invisible direction marks.
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]


def _escape_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]:
        table[code] = f"\\x{code:02x}"
    for code in [*_BIDI, *range(0xD800, 0xE000)]:  # lone surrogates cannot even be encoded for output
        table[code] = f"\\u{code:04x}"
    for char, escape in _READABLE_ESCAPES.items():
        table[ord(char)] = escape
    return table


_LINE_TABLE = _escape_table()
_MULTILINE_TABLE = {code: escape for code, escape in _LINE_TABLE.items() if chr(code) not in "\n\t"}


def safe_str(value: Any, limit: int = 200, *, multiline: bool = False) -> str:
    """`value` as a printable string of at most `limit` characters plus a "… (+N chars)" note.

    Single-line mode escapes newlines and tabs too; `multiline` keeps them (detail views).
    """
    text = "" if value is None else value if isinstance(value, str) else str(value)
    table = _MULTILINE_TABLE if multiline else _LINE_TABLE
    head = text[:limit].translate(table)
    if len(head) <= limit and len(text) <= limit:
        return head
    return _truncate(text, limit, table)


def _truncate(text: str, limit: int, table: dict[int, str]) -> str:
    """Escape characters until `limit` output characters are used, then say how many were left out."""
    pieces: list[str] = []
    used = 0
    shown = 0
    for char in text[:limit]:
        piece = table.get(ord(char), char)
        if used + len(piece) > limit:
            break
        pieces.append(piece)
        used += len(piece)
        shown += 1
    hidden = len(text) - shown
    return "".join(pieces) + (f"… (+{hidden} chars)" if hidden else "")


def safe_text(value: Any, limit: int = 200, *, multiline: bool = False, style: str | Style = "") -> Text:
    """`safe_str` wrapped in a plain `Text` (never markup), optionally styled as a whole."""
    return Text(safe_str(value, limit, multiline=multiline), style=style, end="")


#: Token styles of the JSON view; Rich colour names, so they survive a 256-colour terminal.
JSON_STYLES = {
    "key": "bold blue",
    "str": "green",
    "number": "cyan",
    "literal": "italic magenta",
    "punct": "",
    "note": "dim italic",
}


#: Longest single string shown inside a JSON view; the rest of the document still follows it.
JSON_STRING_LIMIT = 4096


class _JsonWriter:
    """Appends one JSON value to a Text token by token, within a character budget and a depth cap."""

    def __init__(self, limit: int, max_depth: int) -> None:
        self.text = Text(end="")
        self.budget = limit
        self.max_depth = max_depth
        self.truncated = False

    def emit(self, chunk: str, kind: str) -> None:
        if self.truncated:
            return
        if len(chunk) > self.budget:
            chunk = chunk[: self.budget]
            self.truncated = True
        self.budget -= len(chunk)
        self.text.append(chunk, style=JSON_STYLES[kind])

    def value(self, obj: Any, depth: int, indent: str) -> None:
        if self.truncated:
            return
        if obj is None or isinstance(obj, bool):
            self.emit({None: "null", True: "true", False: "false"}[obj], "literal")
        elif isinstance(obj, float):
            self.emit(repr(obj), "number")
        elif isinstance(obj, int):
            self.emit(str(obj) if obj.bit_length() < 4000 else f"<integer of {obj.bit_length()} bits>", "number")
        elif isinstance(obj, dict | list | tuple):
            self.container(obj, depth, indent)
        else:
            self.string(obj, "str")

    def string(self, obj: Any, kind: str) -> None:
        raw = obj if isinstance(obj, str) else str(obj)
        quoted = raw.replace("\\", "\\\\").replace('"', '\\"')
        self.emit('"' + safe_str(quoted, min(self.budget, JSON_STRING_LIMIT)) + '"', kind)

    def container(self, obj: dict | list | tuple, depth: int, indent: str) -> None:
        is_dict = isinstance(obj, dict)
        opener, closer = ("{", "}") if is_dict else ("[", "]")
        if not obj:
            self.emit(opener + closer, "punct")
            return
        if depth >= self.max_depth:
            self.emit(f"{opener}…{closer}", "punct")
            self.emit(f"  (nested deeper than {self.max_depth} levels)", "note")
            return
        inner = indent + "  "
        self.emit(opener + "\n", "punct")
        items = sorted(obj.items(), key=lambda item: str(item[0])) if isinstance(obj, dict) else list(enumerate(obj))
        for position, (key, item) in enumerate(items):
            self.emit(inner, "punct")
            if is_dict:
                self.string(key, "key")
                self.emit(": ", "punct")
            self.value(item, depth + 1, inner)
            self.emit(",\n" if position < len(items) - 1 else "\n", "punct")
            if self.truncated:
                return
        self.emit(indent + closer, "punct")


def safe_json(obj: Any, limit: int = 65536, max_depth: int = 50) -> Text:
    """`obj` pretty-printed as JSON with sorted keys and token colours, sanitized and size-capped."""
    writer = _JsonWriter(limit, max_depth)
    writer.value(obj, 0, "")
    if writer.truncated:
        writer.text.append(f"\n… (truncated at {limit} characters)", style=JSON_STYLES["note"])
    return writer.text


#: Payload keys whose values are secrets (reliability.md §4): never shown in the detail view.
SECRET_KEY = re.compile(r"pass|secret|token|key|authorization", re.IGNORECASE)
REDACTED = "••• redacted"


def redact(obj: Any, max_depth: int = 50) -> Any:
    """A copy of a JSON-like value with the values of secret-looking keys replaced (down to `max_depth`)."""
    if max_depth <= 0:
        return obj  # deeper than `safe_json` ever shows
    if isinstance(obj, dict):
        return {
            key: REDACTED if isinstance(key, str) and SECRET_KEY.search(key) else redact(value, max_depth - 1)
            for key, value in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [redact(item, max_depth - 1) for item in obj]
    return obj
