"""docs/ARCHITECTURE.md's layer table names every top-level module of the package, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wellqueue_tui"
DOC = ROOT / "docs" / "ARCHITECTURE.md"


def layer_table() -> str:
    text = DOC.read_text()
    start = text.index("## Layers")
    return text[start : text.index("\n## ", start + 1)]


def named_in_table() -> set[str]:
    return set(re.findall(r"`([a-z_/]+(?:\.py|/))`", layer_table()))


def top_level_modules() -> set[str]:
    modules = {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and not p.is_symlink()}
    modules |= {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    return modules


def test_every_top_level_module_has_a_row():
    missing = top_level_modules() - named_in_table()
    assert not missing, f"add these to the layer table of docs/ARCHITECTURE.md: {sorted(missing)}"


def test_the_table_names_only_modules_that_exist():
    gone = set()
    for name in named_in_table():
        candidates = [PACKAGE / name, *PACKAGE.glob(f"*/{name}"), *PACKAGE.glob(f"*/{name.rstrip('/')}.py")]
        if not any(c.exists() for c in candidates):
            gone.add(name)
    assert not gone, f"docs/ARCHITECTURE.md names modules that no longer exist: {sorted(gone)}"
