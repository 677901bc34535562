"""`supportgate db copy`: SQLite to PostgreSQL, every table, verified; and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api.app import create_app
from service.cli import app as cli
from service.demo import load_demo
from service.storage import tables as t
from service.storage.copy import copy_database
from service.storage.database import Database
from service.usecases.keys import create_key
from tests.conftest import ADMIN_KEY, Backends, make_settings
from tests.helpers import check, create_client, ok

pytestmark = pytest.mark.storage


def _source_with_history(backends: Backends) -> str:
    """A SQLite database with the demo clients, an API key and an update trail."""
    url = backends.fresh("sqlite")
    db = Database.connect(url, pool_size=1)
    try:
        with db.writer() as session:
            load_demo(session, datetime.now(UTC))
            create_key(session, name="helpdesk", scopes=["entitlements:check"], expires_at=None, actor="test",
                       now=datetime.now(UTC))
            session.commit()
    finally:
        db.dispose()
    with TestClient(create_app(make_settings(url)), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        extra = create_client(api, name="Copy Me Ltd", phones=["(917) 555-0100"], emails=["desk@copyme.example"])
        ok(api.patch(f"/v1/clients/{extra['id']}", json={"name": "Copy Me Limited"}))
    return url


def _decisions(url: str) -> list[dict[str, object]]:
    with TestClient(create_app(make_settings(url)), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        answers = []
        for phone in ("(212) 555-0142", "+1 415 555 0100", "(646) 555-0199", "(917) 555-0100", "(718) 555-0177"):
            for service in ("advanced_support", "priority_support"):
                d = check(api, service, phone=phone)
                answers.append({k: d[k] for k in ("allowed", "client", "contract", "membership", "reasons")})
        return answers


def _counts(url: str) -> dict[str, int]:
    db = Database.connect(url, pool_size=1)
    try:
        with db.read_engine.connect() as connection:
            return {
                table.name: int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
                for table in t.Base.metadata.sorted_tables
            }
    finally:
        db.dispose()


def test_copy_sqlite_to_postgresql_moves_everything_and_verifies(backends: Backends) -> None:
    source = _source_with_history(backends)
    target = backends.fresh("postgresql")
    result = CliRunner().invoke(cli, ["db", "copy", "--from", source, "--to", target])
    assert result.exit_code == 0, result.output
    assert "MISMATCH" not in result.output and "copied and verified" in result.output

    counts = _counts(source)
    assert counts["clients"] == 6 and counts["events"] > 15 and counts["api_keys"] == 1
    assert _counts(target) == counts
    # The copy answers like the original: same clients, contracts, memberships, reasons.
    assert _decisions(target) == _decisions(source)
    # New rows on the target continue after the copied ids (events are the change log).
    with TestClient(create_app(make_settings(target)), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        create_client(api, name="After The Move", phones=["(312) 555-0101"])
    assert _counts(target)["events"] == counts["events"] + 1


def test_copy_refuses_a_target_holding_data(backends: Backends) -> None:
    source = _source_with_history(backends)
    target = backends.fresh("postgresql")
    with TestClient(create_app(make_settings(target)), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        create_client(api, name="Already Here", phones=["(312) 555-0102"])
    before = _counts(target)
    result = CliRunner().invoke(cli, ["db", "copy", "--from", source, "--to", target])
    assert result.exit_code == 1
    assert "already holds rows in clients" in result.output
    assert _counts(target) == before  # nothing written


def test_checksums_differ_when_a_row_differs(backends: Backends) -> None:
    source = _source_with_history(backends)
    target = backends.fresh("postgresql")
    report = copy_database(source, target)
    assert all(r.verified for r in report) and {r.table for r in report} >= {"clients", "events", "api_keys"}
    db = Database.connect(target, pool_size=1)
    clients_table = t.Base.metadata.tables[t.Client.__tablename__]  # t.Client.__table__, typed as the Table it is
    try:
        with db.write_engine.begin() as connection:
            connection.execute(sa.update(clients_table).where(clients_table.c.name == "Initech").values(name="Initech!"))
        from service.storage.copy import table_checksum

        with db.read_engine.connect() as connection:
            _rows, changed = table_checksum(connection, clients_table)
    finally:
        db.dispose()
    clients = next(r for r in report if r.table == "clients")
    assert changed != clients.source_checksum
