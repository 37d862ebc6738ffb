"""Rich styles from the app's theme variables, for table cells: a DataTable renders Rich text, not CSS."""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.color import Color, ColorParseError


def _theme_color(app: App, variable: str) -> Color | None:
    try:
        return Color.parse(app.theme_variables[variable])
    except (KeyError, ColorParseError):
        return None


def tone(app: App, variable: str, *, bold: bool = False) -> Style:
    """Text in the theme's `$variable` colour (e.g. `text-error`); just bold or plain if the theme lacks it."""
    color = _theme_color(app, variable)
    return Style(color=color.rich_color if color else None, bold=bold)


def badge(app: App, variable: str) -> Style:
    """The theme's `$variable` as a background under readable bold text (e.g. `error` for a crash loop)."""
    background = _theme_color(app, variable)
    if background is None:
        return Style(bold=True, reverse=True)
    text = background.get_contrast_text(alpha=1.0)
    return Style(color=text.rich_color, bgcolor=background.rich_color, bold=True)
