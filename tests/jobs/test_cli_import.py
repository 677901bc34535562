"""`supportgate import FILE`: a progress bar, then the result table (or JSON), through the job runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from service.storage import tables as t
from service.storage.database import Database
from tests.jobs.test_import_jobs import csv_rows


def supportgate(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPPORTGATE_DATABASE_URL": db_url, "SUPPORTGATE_LOG_LEVEL": "WARNING", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, capture_output=True, text=True, timeout=120)


def test_the_import_command_shows_progress_and_the_result_table_and_records_the_job(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    path.write_text(csv_rows(2500) + "Bad Phone,,,(212) 555-01,,\n")
    done = supportgate(db_url, "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "2501/2501" in done.stdout  # the bar's rows done / total
    assert "/s" in done.stdout  # its rate
    assert "created" in done.stdout and "2500" in done.stdout
    assert "not a phone number: '(212) 555-01'" in done.stdout
    again = supportgate(db_url, "import", "--json", str(path))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"created": 0, "updated": 0, "unchanged": 2500, "dry_run": False,
                                        "errors": [{"row": 2501, "detail": "not a phone number: '(212) 555-01'"}]}
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.reader() as session:
            statuses = session.scalars(sa.select(t.Job.status).where(t.Job.kind == "clients.import")).all()
    finally:
        db.dispose()
    assert statuses == ["succeeded", "succeeded"]


def test_the_import_command_refuses_a_binary_file_before_storing_it(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff" * 200)
    done = supportgate(db_url, "import", str(path))
    assert done.returncode == 1
    assert "the CSV is not UTF-8 (is it a binary file?)" in done.stderr
