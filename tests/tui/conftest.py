"""Fixtures for the console tests: the fixed sample source, an app factory, and waiting for workers
(`async def` tests run through the hook in tests/conftest.py)."""

from __future__ import annotations

import contextlib
import html
import re
import unicodedata
from collections.abc import Callable

import pytest
from textual import events
from textual.keys import _get_unicode_name_from_key
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from wellqueue_tui.app import WellQueueApp

from .sample_data import NOW, sample_source
from .static_source import StaticSource

SIZE = (100, 30)


@pytest.fixture
def source() -> StaticSource:
    return sample_source()


@pytest.fixture
def make_app() -> Callable[..., WellQueueApp]:
    """An app on the fixed clock that never ticks by itself (tests call `app.tick()` when they want one)."""

    def build(source: StaticSource, **options) -> WellQueueApp:
        options.setdefault("refresh_interval", 3600)
        options.setdefault("clock", lambda: NOW)
        return WellQueueApp(source, **options)

    return build


async def settle(pilot: Pilot) -> None:
    """Let thread workers finish and their results (and any follow-up loads) reach the screen.

    Also used by tests/security (`from tui.conftest import settle, press`)."""
    app = pilot.app
    await pilot.pause()
    for _ in range(20):
        if not any(worker.is_running for worker in app.workers):
            break
        with contextlib.suppress(WorkerCancelled):  # a newer load superseded it: wait for that one instead
            await app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.pause(0.05)  # a refresh lays out what the results changed (column widths follow a resize)
    await pilot.pause()


async def press(pilot: Pilot, *keys: str) -> None:
    """Press keys one by one, settling after each (a key may start a load the next key depends on)."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def burst(pilot: Pilot, *keys: str) -> None:
    """Send keys as a terminal does when typed fast or repeated (tmux send-keys): all queued before the first is
    handled. `pilot.press` idles between keys, so it cannot show a key lost to state that updates later."""
    app = pilot.app
    for key in keys:
        try:  # as `App._press_keys` names characters: "space" is " ", "minus" is "-"
            character: str | None = unicodedata.lookup(_get_unicode_name_from_key(key))
        except KeyError:
            character = key if len(key) == 1 else None
        event = events.Key(key, character)
        event.set_sender(app)
        app.post_message(event)
    await settle(pilot)


async def type_text(pilot: Pilot, text: str) -> None:
    """Type into the focused input (no loads start while typing, so no settling between keys)."""
    await pilot.press(*text)


def notifications(app: WellQueueApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def screen_text(svg: str) -> str:
    """The characters of an `export_screenshot()` SVG, line by line (styles dropped)."""
    lines: dict[int, list[str]] = {}
    for line, content in re.findall(r'<text [^>]*clip-path="url\(#[\w-]*line-(\d+)\)">(.*?)</text>', svg):
        lines.setdefault(int(line), []).append(html.unescape(content).replace("\xa0", " "))
    return "\n".join("".join(parts) for _, parts in sorted(lines.items()))
