"""Screens and widgets talk to the console through `ConsoleContext` and the source protocol: none of them imports
the app (no import loop) or Redis."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.screens.context import ConsoleContext

from .sample_data import sample_source

PACKAGE = Path(__file__).resolve().parents[2] / "wellqueue_tui"
UI_MODULES = sorted([*(PACKAGE / "screens").glob("*.py"), *(PACKAGE / "widgets").glob("*.py")])


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at any level (type-checking blocks and function bodies included)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", UI_MODULES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_screen_or_widget_imports_the_app_or_redis(path):
    imports = imported_modules(path)
    assert not {name for name in imports if name == "wellqueue_tui.app" or name.startswith("wellqueue_tui.app.")}
    assert not {name for name in imports if name == "redis" or name.startswith("redis.")}


def test_importing_every_screen_and_widget_does_not_load_the_app():
    modules = [".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts) for path in UI_MODULES]
    script = f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\nprint('wellqueue_tui.app' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=PACKAGE.parent, timeout=120
    )
    assert loaded.stdout.strip() == "False", loaded.stderr


def test_the_app_is_the_context_screens_talk_to():
    app = WellQueueApp(sample_source())
    assert isinstance(app, ConsoleContext)
    assert app.operator.console is app
