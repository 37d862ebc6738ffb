"""Run the console on hostile data in a real terminal (a pty), open the hostile job, and exit.

Started by `test_sanitize.py` as `python -m tests.tui.pty_console`; what it writes to the pty is checked there.
"""

from __future__ import annotations

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.screens.queue import QueueScreen

from .sample_data import NOW
from .test_sanitize import HOSTILE_ID, hostile_source


class ScriptedConsole(WellQueueApp):
    def on_mount(self) -> None:
        super().on_mount()
        self.set_timer(0.5, lambda: self.push_screen(QueueScreen(self.source.queues[0], "failed")))
        self.set_timer(1.2, lambda: self.open_job(HOSTILE_ID))
        self.set_timer(2.0, lambda: self.screen.query_one(".job-body").scroll_end(animate=False))  # logs, payload
        self.set_timer(3.0, self.exit)


if __name__ == "__main__":
    ScriptedConsole(hostile_source(), clock=lambda: NOW).run()
