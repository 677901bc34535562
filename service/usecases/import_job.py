"""Client imports as background jobs: the uploaded file is stored in a row, then a runner imports it.

A file stays all-or-nothing: rows are checked and normalised first (the CPU-heavy part, outside any
transaction, with its progress committed as it goes), then every change is written in ONE
transaction that also marks the job succeeded. A killed process leaves no partial rows, and a
retried job never reports a half-done first try as "unchanged".
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.storage import jobs as store
from service.text import UNSTORABLE, unstorable_text
from service.usecases import importer
from service.usecases.jobs import JobContext, enqueue, job_handler

IMPORT_KIND = "clients.import"
CSV_TYPES = ("text/csv", "application/csv", "text/plain")
PROGRESS_EVERY = 2000
SCAN_CHARS = 65536


def is_csv(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in CSV_TYPES


def _csv_text(raw: bytes, pace: Callable[[], None] | None = None) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV is not UTF-8 (is it a binary file?)") from None
    # In slices: one search over megabytes holds the interpreter lock from start to end.
    for start in range(0, len(text), SCAN_CHARS):
        if UNSTORABLE.search(text, start, start + SCAN_CHARS):
            raise InvalidInput("text must not hold NUL characters or unpaired surrogates")
        if pace is not None:
            pace()
    return text


def _json_items(raw: bytes) -> list[Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is neither a JSON array nor text/csv") from None
    if not isinstance(data, list):
        raise InvalidInput("the JSON body must be an array of clients")
    if unstorable_text(data):
        raise InvalidInput("text must not hold NUL characters or unpaired surrogates")
    return data


def is_small(raw: bytes, content_type: str, *, small: int) -> bool:
    """Whether the file holds at most `small` rows, decided without reading it on the request's
    process for long: a CSV by its line count (a quoted cell may span lines, so a file of many
    multi-line cells may go to a job although it has fewer rows), JSON by its length once parsed."""
    if is_csv(content_type):
        breaks = raw.count(b"\n") - (1 if raw.endswith(b"\n") else 0)  # = records after the header line
        return breaks <= small
    return len(_json_items(raw)) <= small


def count_records(raw: bytes, content_type: str) -> int:
    """The exact number of rows of the file (InvalidInput if it cannot be read)."""
    if is_csv(content_type):
        text = _csv_text(raw)
        try:
            return max(sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1, 0)
        except csv.Error as exc:
            raise InvalidInput(f"the CSV cannot be read: {exc}") from None
    return len(_json_items(raw))


def read_upload(raw: bytes, content_type: str, pace: Callable[[], None] | None = None,
                ) -> tuple[list[importer.ImportRow], list[dict[str, Any]]]:
    """The rows of an uploaded CSV or JSON file, and the rows refused while reading; InvalidInput if unreadable."""
    if is_csv(content_type):
        return importer.rows_from_csv(_csv_text(raw, pace))
    return importer.rows_from_json(_json_items(raw))


def queue_import(session: Session, raw: bytes, content_type: str, *, dry_run: bool, actor: str, now: datetime) -> str:
    """Store the file and queue its import in the caller's transaction; the job id."""
    file_id = store.save_file(session, content_type=content_type, body=raw, now=now)
    payload = {"file_id": file_id, "content_type": content_type, "dry_run": dry_run, "actor": actor}
    return enqueue(session, IMPORT_KIND, payload, max_attempts=3, now=now)


def result_body(result: importer.ImportResult, dry_run: bool) -> dict[str, Any]:
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
            "errors": result.errors, "dry_run": dry_run}


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the import's hundreds of thousands of objects are alive: a
    full collection walks all of them holding the interpreter lock, and the request loop of this
    process would stand still for as long (a second seen under load). They are freed by reference
    counting when the import returns (no cycles), so nothing piles up."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@job_handler(IMPORT_KIND)
def run_import(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    with collector_paused():
        return _run_import(ctx, payload)


def _run_import(ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
    with ctx.db.reader() as session:
        upload = store.load_file(session, str(payload["file_id"]))
        raw, content_type = (upload.body, upload.content_type) if upload is not None else (None, "")
    if raw is None:
        raise InvalidInput(f"the uploaded file {payload['file_id']} is gone")
    dry_run = bool(payload.get("dry_run"))
    rows, errors = read_upload(raw, content_type, ctx.pace)
    total = len(rows) + len(errors)
    ctx.progress(len(errors), total)
    base = len(errors)
    prepared, found = importer.prepare_rows(
        rows, region=ctx.settings.default_region, errors=errors, every=PROGRESS_EVERY,
        on_progress=lambda done: ctx.progress(base + done, total), pace=ctx.pace,
    )
    ctx.progress(total, total)  # every row checked; what is left is the one write
    now = ctx.now()
    with ctx.db.writer() as session:
        result = importer.apply_rows(session, prepared, found, dry_run=dry_run, actor=str(payload.get("actor") or "import"),
                                     now=now, pace=ctx.pace)
        body = result_body(result, dry_run)
        ctx.complete_in(session, body, done=total, total=total)
        session.commit()
    return body
