"""The job list's columns: a frame drawn before the table measures its new rows still shows every cell whole."""

from __future__ import annotations

from textual.app import App, ComposeResult

from wellqueue_tui.widgets.job_table import JobTable

from .conftest import settle
from .sample_data import NOW, job

ERROR = "TimeoutError: template render exceeded 30 s"


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield JobTable()


async def test_a_frame_drawn_before_the_table_idles_shows_the_error_column_at_its_final_width():
    failed = [
        job(f"report-{n}", "report-generation", "generate_report", "failed", {}, age_s=60, error=ERROR).summary
        for n in range(3)
    ]
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        await settle(pilot)
        table = app.query_one(JobTable)
        table.show_jobs(failed, NOW, set(), state="failed")
        before_idle = table.render_line(1).text  # a busy machine can draw here: DataTable measures rows when idle
        await settle(pilot)
        assert "TimeoutError:" in before_idle
        assert "TimeoutError:" in table.render_line(1).text
