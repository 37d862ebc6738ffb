"""The stylesheets ship as the `wellqueue_tui.styles` package (the top-level styles/ folder, no symlink)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from wellqueue_tui.app import WellQueueApp, stylesheet_folder

CHECKOUT = Path(__file__).resolve().parents[2]


def test_every_stylesheet_the_app_loads_comes_from_the_styles_package():
    packaged = {
        entry.name for entry in resources.files("wellqueue_tui.styles").iterdir() if entry.name.endswith(".tcss")
    }
    loaded = [Path(path) for path in WellQueueApp.CSS_PATH]
    assert {path.name for path in loaded} == packaged
    assert all(path.is_file() for path in loaded)


def test_the_package_reads_the_top_level_folder_rather_than_a_link():
    assert not (CHECKOUT / "wellqueue_tui" / "styles").exists()
    assert Path(str(resources.files("wellqueue_tui.styles"))).resolve() == (CHECKOUT / "styles").resolve()


def test_a_checkout_that_was_never_installed_still_finds_the_folder(monkeypatch):
    def not_installed(package: str):
        raise ModuleNotFoundError(f"No module named {package!r}")

    monkeypatch.setattr(resources, "files", not_installed)
    assert stylesheet_folder().resolve() == (CHECKOUT / "styles").resolve()
