"""Run the console on hostile data in a real terminal (a pty), open the hostile job, and exit.

Started by `test_sanitize.py` as `python -m tests.tui.pty_console`; what it writes to the pty is checked there.
"""

from __future__ import annotations

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.screens.queue import QueueScreen

from .sample_data import NOW
from .test_sanitize import HOSTILE_ID, hostile_source


class ScriptedConsole(WellQueueApp):
    """Each step waits for the screen the previous one opened, however long the machine takes to draw it."""

    def on_mount(self) -> None:
        super().on_mount()
        self._steps = [
            (lambda: True, lambda: self.push_screen(QueueScreen(self.source.queues[0], "failed"))),
            (lambda: isinstance(self.screen, QueueScreen), lambda: self.open_job(HOSTILE_ID)),
            (self._job_laid_out, lambda: self._job_body().scroll_end(animate=False)),  # the logs, after the payload
            (
                lambda: self._job_body().scroll_y >= self._job_body().max_scroll_y,
                lambda: self.call_after_refresh(lambda: self.call_after_refresh(self.exit)),
            ),
        ]
        self.set_interval(0.1, self._next_step)

    def _next_step(self) -> None:
        if self._steps and self._steps[0][0]():
            _ready, step = self._steps.pop(0)
            step()

    def _job_body(self):
        return self.screen.query_one(".job-body")

    def _job_laid_out(self) -> bool:
        loading = any(worker.is_running for worker in self.workers)
        return not loading and bool(self.screen.query(".job-body")) and self._job_body().max_scroll_y > 0


if __name__ == "__main__":
    ScriptedConsole(hostile_source(), clock=lambda: NOW).run()
