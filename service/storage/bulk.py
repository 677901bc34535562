"""Bulk inserts: COPY on PostgreSQL, one executemany on SQLite (imports, audit trails of big writes)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.storage import tables as t


def bulk_insert(session: Session, model: type[t.Base], rows: Sequence[dict[str, Any]]) -> None:
    """Many new rows in the session's transaction: COPY on PostgreSQL (psycopg would otherwise send
    one INSERT per row), one executemany on SQLite. Rows carry Python values as for an INSERT."""
    if not rows:
        return
    table = t.Base.metadata.tables[model.__tablename__]
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _sqlite_executemany(connection, table, rows)
        return
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), list(rows))
        return
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_copy_value(row[c], c in json_columns) for c in columns])


def _sqlite_executemany(connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """sqlite3's executemany with values converted as SQLAlchemy stores them (DATETIME text, JSON text):
    SQLAlchemy's per-row bind processing cost more than SQLite's own work on a big import."""
    columns = [table.c[name].name for name in rows[0]]  # names of the table's own columns only (KeyError otherwise)
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608
    stamps: dict[datetime, str] = {}  # an import's rows share one timestamp: format it once

    def value_of(value: Any, is_json: bool) -> Any:
        if value is None:
            return None
        if is_json:
            return orjson.dumps(value).decode()
        if isinstance(value, datetime):
            text = stamps.get(value)
            if text is None:
                # SQLAlchemy's SQLite DATETIME storage format, in naive UTC as UTCDateTime stores it.
                text = stamps[value] = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            return text
        return value

    flags = [(c, c in json_columns) for c in columns]
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.executemany(sql, ([value_of(row[c], is_json) for c, is_json in flags] for row in rows))
    finally:
        cursor.close()


def _copy_value(value: Any, is_json: bool) -> Any:
    if value is None:
        return None
    if is_json:
        return orjson.dumps(value).decode()
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)  # stored naive UTC, as UTCDateTime does
    return value
