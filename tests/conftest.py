"""Fixtures: a freshly migrated database per test, on SQLite and on PostgreSQL, and an app client.

Each backend's schema is built once with the real Alembic migrations into a template; every test
gets a copy (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from service.storage.database import normalize_url
from service.storage.migrate import upgrade

ADMIN_KEY = "test-admin-key"
PG_URL = os.environ.get("SUPPORTGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("SUPPORTGATE_TEST_REQUIRE_POSTGRES") == "1"


def _pg_admin_engine() -> sa.Engine | None:
    engine = sa.create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception:
        engine.dispose()
        return None
    return engine


def _with_db(url: str, name: str) -> str:
    return sa.engine.make_url(normalize_url(url)).set(database=name).render_as_string(hide_password=False)


class Backends:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sqlite_template = tmp / "template.db"
        upgrade(f"sqlite:///{self.sqlite_template}")
        self.pg_admin = _pg_admin_engine()
        self.pg_template: str | None = None
        self.pg_created: list[str] = []
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-db")
        self._dropping: list[Future[None]] = []
        if self.pg_admin is not None:
            self.pg_template = f"sg_tpl_{uuid.uuid4().hex[:10]}"
            with self.pg_admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{self.pg_template}"')
            self.pg_created.append(self.pg_template)
            upgrade(_with_db(PG_URL, self.pg_template))

    def fresh(self, backend: str) -> str:
        if backend == "sqlite":
            path = self.tmp / f"{uuid.uuid4().hex}.db"
            shutil.copyfile(self.sqlite_template, path)
            return f"sqlite:///{path}"
        if self.pg_admin is None or self.pg_template is None:
            if REQUIRE_PG:
                pytest.fail(f"PostgreSQL is required (SUPPORTGATE_TEST_REQUIRE_POSTGRES=1) but {PG_URL} does not answer")
            pytest.skip("PostgreSQL not reachable; set SUPPORTGATE_TEST_POSTGRES_URL")
        name = f"sg_t_{uuid.uuid4().hex[:12]}"
        with self.pg_admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"')
        self.pg_created.append(name)
        return _with_db(PG_URL, name)

    def release(self, url: str) -> None:
        """Drop a test's PostgreSQL database in the background while the next tests run."""
        name = sa.engine.make_url(url).database
        if self.pg_admin is None or not url.startswith("postgresql") or name not in self.pg_created:
            return
        self.pg_created.remove(name)
        self._dropping.append(self._dropper.submit(self._drop, name))

    def _drop(self, name: str) -> None:
        assert self.pg_admin is not None
        with self.pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for future in self._dropping:
            future.exception()  # wait; a failed drop is left for the server's owner, not a test failure
        self._dropper.shutdown()
        if self.pg_admin is None:
            return
        for name in reversed(self.pg_created):
            self._drop(name)
        self.pg_admin.dispose()


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    found = Backends(tmp_path_factory.mktemp("db"))
    yield found
    found.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, backends: Backends) -> Iterator[str]:
    url = backends.fresh(request.param)
    yield url
    backends.release(url)


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "bootstrap_admin_key": ADMIN_KEY,
        "cache_staleness_seconds": 0.2,
        "log_level": "WARNING",
        # The embedded job runner delivers queued mail: into a temporary folder, never the worktree's ./mail.
        "mail_dir": str(Path(tempfile.gettempdir()) / "supportgate-test-mail"),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        yield test_client
