"""Hostile text (markup, escape sequences, C1, bidi, NUL, 1 MB) is shown literally, bounded, and never reaches the terminal raw."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from wellqueue_tui.sanitize import REDACTED, redact, safe_json, safe_str, safe_text
from wellqueue_tui.screens.job import JobScreen
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.widgets.job_table import JobTable

from .conftest import SIZE, notifications, press, screen_text, settle
from .sample_data import HOSTILE, job
from .static_source import StaticSource

ROOT = Path(__file__).resolve().parents[2]

#: Raw control bytes that must never survive sanitizing (ESC, BEL, CSI as C1, NUL, DEL, bidi overrides).
FORBIDDEN = ["\x1b", "\x07", "\x9b", "\x00", "\x7f", "\u202e", "\u2066", "\u2069", "\x9d"]


def assert_inert(text: str) -> None:
    for char in FORBIDDEN:
        assert char not in text, f"{char!r} survived"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_safe_str_makes_every_hostile_string_inert(name):
    shown = safe_str(HOSTILE[name])
    assert_inert(shown)
    assert isinstance(safe_text(HOSTILE[name]), Text)


def test_escapes_are_visible_and_markup_is_literal():
    assert safe_str("\x1b]52;c;ZXZpbA==\x07") == "\\x1b]52;c;ZXZpbA==\\x07"
    assert safe_str("\x9b31m") == "\\x9b31m"
    assert safe_str("abc\u202edcba") == "abc\\u202edcba"
    assert safe_str("a\x00b\x7f") == "a\\x00b\\x7f"
    assert safe_text("[@click=app.quit]boom[/]").plain == "[@click=app.quit]boom[/]"
    assert safe_text("[bold]x").spans == []


def test_newlines_and_tabs_are_kept_only_in_multiline_mode():
    assert safe_str("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert safe_str("a\nb\tc\rd", multiline=True) == "a\nb\tc\\rd"


def test_lone_surrogates_cannot_break_output_encoding():
    shown = safe_str("x\ud800y")
    assert shown == "x\\ud800y"
    shown.encode("utf-8")


def test_truncation_says_how_much_was_left_out():
    assert safe_str("x" * 250) == "x" * 200 + "… (+50 chars)"
    escaped = safe_str("\x1b" * 100, 20)  # escapes count against the limit too
    assert escaped == "\\x1b" * 5 + "… (+95 chars)"
    assert safe_str(None) == "" and safe_str(42) == "42"


def test_a_megabyte_is_cut_to_its_bound():
    """How fast: benchmarks/console.py. Here: what comes out."""
    shown = safe_str("\x1b[2J" * 250_000, 65536, multiline=True)
    assert len(shown) < 65536 + 30
    assert shown.endswith("chars)")
    assert_inert(shown)


def test_safe_json_sorts_keys_highlights_tokens_and_escapes_strings():
    rendered = safe_json({"b": [1, 2.5, True, None], "a": HOSTILE["osc8"], "c": {"k": "[/bold]"}})
    plain = rendered.plain
    assert plain.index('"a"') < plain.index('"b"') < plain.index('"c"')
    assert '"[/bold]"' in plain
    assert_inert(plain)
    styles = {plain[span.start : span.end]: str(span.style) for span in rendered.spans}
    assert styles['"a"'] == "bold blue"
    assert styles["2.5"] == "cyan"
    assert styles["true"] == "italic magenta"


def test_safe_json_caps_depth_and_size():
    nested: list = []
    cursor = nested
    for _ in range(100_000):  # json.loads of this would raise RecursionError; we never recurse past the cap
        cursor.append([])
        cursor = cursor[0]
    deep = safe_json(nested, max_depth=50).plain
    assert "nested deeper than 50 levels" in deep
    big = safe_json({"blob": "y" * 1_000_000, "items": list(range(100_000))}, limit=65536).plain
    assert len(big) < 65536 + 60
    assert "… (+995904 chars)" in big  # one string is capped on its own, the document as a whole too
    assert big.endswith("(truncated at 65536 characters)")


def test_redact_hides_secret_looking_keys_at_any_depth():
    payload = {"url": "https://x", "password": "hunter2", "nested": [{"apiKey": "abc", "Authorization": "Bearer t"}]}
    shown = redact(payload)
    assert shown == {
        "url": "https://x",
        "password": REDACTED,
        "nested": [{"apiKey": REDACTED, "Authorization": REDACTED}],
    }
    assert payload["password"] == "hunter2"  # a copy; the job's data is untouched


def test_rich_renders_sanitized_text_without_control_codes():
    console = Console(width=80, record=True, force_terminal=True, color_system="256")
    for value in HOSTILE.values():
        console.print(safe_text(value))
        console.print(safe_json({"v": value}))
    assert_inert(console.export_text())


HOSTILE_ID = "evil\x1b]52;c;ZXZpbA==\x07id"


def hostile_source() -> StaticSource:
    queue = "evil\x1b[2J[bold]q"
    jobs = [
        job(
            HOSTILE_ID,
            queue,
            "[@click=app.quit]kind",
            "failed",
            {"wellId": HOSTILE["click"], **HOSTILE},
            age_s=60,
            attempts=1,
            took_ms=5,
            error=HOSTILE["close_tag"] + HOSTILE["csi"],
            traceback="\n".join(HOSTILE.values()),
            logs=list(HOSTILE.values()),
        ),
        job(
            "huge",
            queue,
            "k",
            "failed",
            {"blob": "z" * 1_000_000},
            age_s=30,
            attempts=1,
            took_ms=5,
            error="E" * 1_000_000,
            traceback="T\n" * 500_000,
            logs=["L" * 100_000] * 50,
        ),
    ]
    return StaticSource(jobs, queues=[queue])


async def test_hostile_data_on_every_screen_stays_literal(make_app):
    source = hostile_source()
    queue = source.queues[0]
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screens = [app.export_screenshot()]
        app.push_screen(QueueScreen(queue, "failed"))
        await settle(pilot)
        table = app.screen.query_one(JobTable)
        assert len(table.jobs) == 2
        screens.append(app.export_screenshot())
        await press(pilot, "j", "d")  # the confirmation names the hostile id
        screens.append(app.export_screenshot())
        await press(pilot, "n", "enter")
        assert isinstance(app.screen, JobScreen)
        screens.append(app.export_screenshot())
        app.notify(safe_str(HOSTILE["osc52"] + HOSTILE["click"]), markup=False)
        await press(pilot, "r")  # the action's message carries the hostile id into a notification
        await settle(pilot)
        screens.append(app.export_screenshot())
        await press(pilot, "question_mark")
        screens.append(app.export_screenshot())
        assert app.is_running  # no MarkupError, no [@click=app.quit]
    for svg in screens:
        assert_inert(svg)
    joined = "\n".join(screen_text(svg) for svg in screens)
    assert "[@click=app.quit]boom[/]" in joined
    assert "\\x1b]52;c;ZXZpbA==\\x07" in joined
    assert "evil\\x1b[2J[bold]q" in joined
    assert any("queued again" in message for message in notifications(app))


async def test_job_detail_redacts_secrets_in_the_payload(make_app):
    secret = job("s1", "webhooks", "deliver_webhook", "waiting", {"url": "https://x", "token": "s3cr3t-value"}, age_s=5)
    app = make_app(StaticSource([secret]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_job("s1")
        await settle(pilot)
        payload = str(app.screen.query_one("#section-payload", Static).render())
        assert "s3cr3t-value" not in payload and REDACTED in payload and "https://x" in payload


async def test_a_megabyte_job_opens_with_bounded_sections(make_app):
    """How fast it opens: benchmarks/console.py. Here: every section is cut to its bound."""
    app = make_app(hostile_source())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_job("huge")
        await settle(pilot)
        for name, limit in (("payload", 32768), ("error", 4096), ("traceback", 16384), ("logs", 16384)):
            rendered = app.screen.query_one(f"#section-{name}", Static).render()
            assert len(str(rendered)) < limit + 100, name


def run_in_pty(module: str, columns: int = 80, rows: int = 24, timeout: float = 180.0) -> bytes:
    """Everything `python -m module` writes to an 80x24 xterm-256color pty."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console, in the repository root so `tests.tui` imports
        os.chdir(ROOT)
        os.environ.update(TERM="xterm-256color", PYTHONPATH=str(ROOT))
        os.environ.pop("COLORTERM", None)
        os.execv(sys.executable, [sys.executable, "-m", module])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.waitpid(pid, 0)
    return output


def test_in_a_real_terminal_no_injected_sequence_reaches_the_output():
    output = run_in_pty("tests.tui.pty_console")
    assert b"Traceback" not in output, output[-2000:]
    for injected in (b"\x1b]52", b"\x1b]8;;https://evil", b"\x1b[10;10Hmoved", b"\xc2\x9b", b"\xe2\x80\xae", b"\x00"):
        assert injected not in output
    assert b"\\x1b]52;c;ZXZpbA==\\x07" in output  # shown, as text
    assert b"abc\\u202edcba" in output  # the log lines at the end of the job screen were drawn
    assert b"[@click=app.quit]" in output
    assert b"38;5;" in output and b"38;2;" not in output  # 256 colours when the terminal has no more
