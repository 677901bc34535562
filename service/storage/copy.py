"""`supportgate db copy`: move every table (clients, history, events, keys, webhooks, outbox) from one
database to another, e.g. SQLite to PostgreSQL, and prove it by row counts and checksums."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from service.storage import tables as t
from service.storage.database import create_db_engine, is_sqlite, normalize_url
from service.storage.migrate import upgrade

CHUNK = 5000
# Rows the initial migration puts into a fresh database; the source's own rows replace them.
SEEDED_BY_MIGRATION = {"services"}


class CopyRefused(Exception):
    """The copy cannot start (target not empty, source not migrated); nothing was written."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    table: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str

    @property
    def verified(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


def _canonical(value: Any) -> Any:
    """The same value read from SQLite or PostgreSQL hashes the same."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, bytes | memoryview):  # a contract document (bytea / BLOB)
        return bytes(value).hex()
    return value


def _rows(connection: sa.Connection, table: sa.Table) -> Iterator[sa.Row[Any]]:
    order = list(table.primary_key.columns)
    result = connection.execution_options(yield_per=CHUNK).execute(sa.select(table).order_by(*order))
    yield from result


def table_checksum(connection: sa.Connection, table: sa.Table) -> tuple[int, str]:
    """(row count, SHA-256 over every row in primary-key order, values in a canonical form)."""
    digest = hashlib.sha256()
    count = 0
    for row in _rows(connection, table):
        digest.update(orjson.dumps([_canonical(v) for v in row], option=orjson.OPT_SORT_KEYS))
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def _revision(connection: sa.Connection) -> str | None:
    try:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except sa.exc.DBAPIError:
        return None


def copy_database(source_url: str, target_url: str) -> list[TableCopy]:
    """Migrate the target, refuse unless it holds no data, copy every table in foreign-key order in
    one transaction, then compare counts and checksums table by table."""
    source_url, target_url = normalize_url(source_url), normalize_url(target_url)
    if source_url == target_url:
        raise CopyRefused("the source and the target are the same database")
    source = create_db_engine(source_url, pool_size=1)
    try:
        with source.connect() as connection:
            source_revision = _revision(connection)
        if source_revision is None:
            raise CopyRefused("the source has no schema (run `supportgate migrate` against it first)")
        upgrade(target_url)
        target = create_db_engine(target_url, pool_size=1, immediate=True)
        try:
            with target.connect() as connection:
                target_revision = _revision(connection)
            if target_revision != source_revision:
                raise CopyRefused(
                    f"the source is at schema {source_revision}, the target at {target_revision}: "
                    "run `supportgate migrate` against the source first"
                )
            tables = list(t.Base.metadata.sorted_tables)
            with source.connect() as read, target.begin() as write:
                for table in tables:
                    if table.name in SEEDED_BY_MIGRATION:
                        continue
                    if write.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                        raise CopyRefused(f"the target already holds rows in {table.name}; copy into an empty database")
                for name in SEEDED_BY_MIGRATION:
                    # Only what the migration seeded (nothing refers to it yet): the source's catalog replaces it.
                    write.execute(sa.delete(t.Base.metadata.tables[name]))
                for table in tables:
                    batch: list[dict[str, Any]] = []
                    for row in _rows(read, table):
                        batch.append(dict(row._mapping))
                        if len(batch) >= CHUNK:
                            write.execute(sa.insert(table), batch)
                            batch = []
                    if batch:
                        write.execute(sa.insert(table), batch)
                if not is_sqlite(target_url):
                    _reset_sequences(write, tables)
            with source.connect() as read, target.connect() as written:
                report = []
                for table in tables:
                    source_rows, source_sum = table_checksum(read, table)
                    target_rows, target_sum = table_checksum(written, table)
                    report.append(TableCopy(table.name, source_rows, target_rows, source_sum, target_sum))
            return report
        finally:
            target.dispose()
    finally:
        source.dispose()


def _reset_sequences(connection: sa.Connection, tables: list[sa.Table]) -> None:
    """Identity columns continue after the copied ids (PostgreSQL does not move them on explicit ids)."""
    for table in tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and isinstance(column.type, sa.Integer)):
                sequence = connection.execute(
                    sa.text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": column.name}
                ).scalar()
                if sequence:
                    top = connection.execute(sa.select(sa.func.max(column))).scalar() or 0
                    connection.execute(sa.text("SELECT setval(:sequence, :next, false)"), {"sequence": sequence, "next": top + 1})
