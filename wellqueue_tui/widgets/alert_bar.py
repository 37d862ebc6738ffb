"""The alert bar on every console screen: the alerts firing now, hidden while none fires."""

from __future__ import annotations

from textual.widgets import Static

from .health_text import alert_bar_text


class AlertBar(Static):
    """Follows the app's `firing_alerts` reactive (a tuple of alert states, polled by the app)."""

    def on_mount(self) -> None:
        self.watch(self.app, "firing_alerts", self._show, init=True)

    def _show(self, firing: tuple) -> None:
        self.display = bool(firing)
        if firing:
            self.update(alert_bar_text(list(firing)))
