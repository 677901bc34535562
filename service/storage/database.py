"""Engine and session factories for SQLite and PostgreSQL. Nothing is built at import time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from service.storage import changes


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` / `postgres://` URLs and use the pinned psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalize_url(url)).get_backend_name() == "sqlite"


def create_db_engine(url: str, *, pool_size: int = 10, immediate: bool = False) -> sa.Engine:
    """One engine. On SQLite `immediate=True` makes every transaction BEGIN IMMEDIATE.

    SQLite upgrades a read transaction to a write one only if nobody wrote in between; otherwise it
    fails at once (no busy wait). Writers therefore take the write lock when they begin.
    """
    url = normalize_url(url)
    if is_sqlite(url):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None}, pool_size=pool_size
        )

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # connect_timeout: a database whose host stopped answering must not hold requests (or the
    # cache poller that flips degraded mode) for the kernel's TCP timeout.
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_timeout=5,
                            connect_args={"connect_timeout": 3})


@dataclass
class Database:
    """The engines of one process: writers and readers (the same on PostgreSQL)."""

    url: str
    write_engine: sa.Engine
    read_engine: sa.Engine
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> Database:
        url = normalize_url(url)
        write_engine = create_db_engine(url, pool_size=pool_size, immediate=True)
        read_engine = create_db_engine(url, pool_size=pool_size) if is_sqlite(url) else write_engine
        writer = sessionmaker(write_engine, expire_on_commit=False)
        reader = sessionmaker(read_engine, expire_on_commit=False)
        for sessions in (writer, reader):
            changes.install(sessions)  # what each write invalidates is derived from the rows it flushes
        return cls(url=url, write_engine=write_engine, read_engine=read_engine, writer=writer, reader=reader)

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()

    def ping(self) -> None:
        with self.read_engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
