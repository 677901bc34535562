"""`supportgate import FILE`: the file queued as an import job, run here, with a progress bar and a result table."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from service.settings import Settings
from service.storage import jobs as store
from service.storage.database import Database
from service.usecases import import_job
from service.usecases.job_runner import JobRunner

SHOWN_ERRORS = 20


class RowRate(ProgressColumn):
    """Rows a second, as rich measures the task's speed."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "–/s", style="progress.data.speed")


def content_type_of(path: Path) -> str:
    return "application/json" if path.suffix.lower() == ".json" else "text/csv"


def run_import(settings: Settings, path: Path, *, dry_run: bool, console: Console) -> tuple[str, dict[str, Any] | None, str | None]:
    """Queue the file as a job, run it with a runner of this process (another runner may take it
    first: the bar follows the job either way). Returns (status, result, error)."""
    raw = path.read_bytes()
    content_type = content_type_of(path)
    rows = import_job.count_records(raw, content_type)  # unreadable files fail here, before anything is stored
    db = Database.connect(settings.database_url, pool_size=2)
    runner = JobRunner(db, settings, kinds=[import_job.IMPORT_KIND])
    try:
        with db.writer() as session:
            job_id = import_job.queue_import(session, raw, content_type, dry_run=dry_run, actor="cli", now=datetime.now(UTC))
            session.commit()
        runner.start()
        runner.wake()
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                   RowRate(), TextColumn("left"), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"importing {path.name}", total=rows)
            while True:
                with db.reader() as session:
                    job = store.get(session, job_id)
                    assert job is not None
                    status, done, total = job.status, job.progress_done, job.progress_total
                    result, error = job.result, job.error
                if total is not None and done >= total and status == store.RUNNING:
                    bar.update(task, description="writing")
                bar.update(task, completed=done, total=total or rows)
                if status in (store.SUCCEEDED, store.FAILED):
                    break
                time.sleep(0.1)
        return status, result, error
    finally:
        runner.stop()
        db.dispose()


def result_table(result: dict[str, Any]) -> Table:
    table = Table(title="import" + (" (dry run: nothing written)" if result.get("dry_run") else ""))
    for name in ("created", "updated", "unchanged", "errors"):
        table.add_column(name, justify="right")
    table.add_row(*(str(result.get(name, 0)) for name in ("created", "updated", "unchanged")), str(len(result.get("errors") or [])))
    return table


def errors_table(errors: list[dict[str, Any]]) -> Table:
    table = Table(title=f"rows refused ({len(errors)}" + (f", first {SHOWN_ERRORS} shown)" if len(errors) > SHOWN_ERRORS else ")"))
    table.add_column("row", justify="right")
    table.add_column("detail")
    for error in errors[:SHOWN_ERRORS]:
        table.add_row(str(error.get("row")), str(error.get("detail")))
    return table
