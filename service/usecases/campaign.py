"""The contract rollout campaign: active clients still to chase, soonest grace deadline first."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.cursors import decode_cursor, encode_cursor
from service.domain import model as dm
from service.domain.contract import current_version, grace_deadline
from service.errors import InvalidInput
from service.storage.sql import SqlRepository
from service.usecases.clients import identifiers_of

TO_CHASE = ("pending", "unsigned", "declined", "expired")
CSV_COLUMNS = ("client_id", "name", "contract_status", "grace_until", "days_left", "current_version", "email", "all_emails")


@dataclass(frozen=True, slots=True)
class ClientToChase:
    id: str
    name: str
    contract_status: str
    grace_until: datetime
    days_left: int
    current_version: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[ClientToChase]
    next_cursor: str | None


def status_filter(values: str | None) -> list[str]:
    """Comma-separated statuses to chase; none given = all four."""
    if not values or not values.strip():
        return list(TO_CHASE)
    wanted = list(dict.fromkeys(v.strip() for v in values.split(",") if v.strip()))
    bad = [v for v in wanted if v not in TO_CHASE]
    if bad:
        raise InvalidInput(
            f"{bad[0]!r} is not a status to chase", errors=[{"loc": ["query", "status"], "msg": f"one of {', '.join(TO_CHASE)}"}]
        )
    return wanted


def days_left(deadline: datetime, now: datetime) -> int:
    """Whole days until the deadline, rounded up (half a day left is "1 day left"); negative once past."""
    return math.ceil((deadline - now).total_seconds() / 86400)


def _decode(cursor: str | None) -> tuple[datetime, str] | None:
    raw = decode_cursor(cursor)
    if cursor and raw is None:
        raise InvalidInput("invalid cursor", errors=[{"loc": ["query", "cursor"], "msg": "not a cursor of this list"}])
    if raw is None:
        return None
    stamp, _, client_id = raw.partition("|")
    try:
        return datetime.fromisoformat(stamp), client_id
    except ValueError:
        raise InvalidInput("invalid cursor", errors=[{"loc": ["query", "cursor"], "msg": "not a cursor of this list"}]) from None


def clients_to_chase(
    session: Session,
    catalog: dm.Catalog,
    now: datetime,
    *,
    statuses: list[str],
    deadline_before: datetime | None = None,
    deadline_after: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    version = current_version(catalog.versions, now)
    repo = SqlRepository(session)
    rows = repo.clients_to_chase(
        catalog=catalog, now=now, contract_statuses=statuses, deadline_before=deadline_before,
        deadline_after=deadline_after, limit=limit + 1, after=_decode(cursor),
    )
    if version is None:
        return Page([], None)
    page, more = rows[:limit], len(rows) > limit
    idents = identifiers_of(repo, [row.id for row, *_ in page])
    items = []
    for row, status, extension, _sql_deadline in page:
        # The deadline shown comes from the domain rule itself; its SQL form (rules_sql) orders and filters.
        state = dm.ClientState(
            id=row.id, name=row.name, status=dm.ClientStatus(row.status), created_at=row.created_at,
            grace_extensions=(dm.GraceExtension(version.version, extension),) if extension else (),
        )
        deadline = grace_deadline(state, version, catalog.policy)
        ids = idents[row.id]
        items.append(ClientToChase(
            row.id, row.name, status, deadline, days_left(deadline, now), version.version, tuple(ids.emails), tuple(ids.phones),
        ))
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor(f"{last[3].isoformat()}|{last[0].id}")
    return Page(items, next_cursor)


def all_clients_to_chase(session: Session, catalog: dm.Catalog, now: datetime, **filters: object) -> Iterator[ClientToChase]:
    """Every matching client, read page by page (the CSV export)."""
    cursor: str | None = None
    while True:
        page = clients_to_chase(session, catalog, now, limit=500, cursor=cursor, **filters)  # type: ignore[arg-type]
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a leading quote.

    Every text cell goes through here (names, e-mails, ids, versions: any may come from outside);
    only the integers we compute ourselves (days left, which may be negative) stay numbers.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(items: Iterator[ClientToChase]) -> Iterator[str]:
    """A header line, then one line per client; `email` is the first address (mail-merge tools want one)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    # The byte-order mark makes Excel read the file as UTF-8 (accented names); other tools skip it.
    yield "\ufeff" + flush()
    for item in items:
        writer.writerow([csv_cell(cell) for cell in (
            item.id, item.name, item.contract_status, item.grace_until.isoformat(), item.days_left,
            item.current_version, item.emails[0] if item.emails else "", ";".join(item.emails),
        )])
        yield flush()
