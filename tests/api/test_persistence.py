"""Data survives a restart; the migrations and the models agree."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.storage.database import create_db_engine
from service.storage.tables import Base
from tests.conftest import ADMIN_KEY, make_settings
from tests.helpers import check, create_client, ok, publish_contract, sign


def test_data_survives_a_restart(db_url: str) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(create_app(make_settings(db_url)), headers=headers) as first:
        publish_contract(first)
        acme = create_client(first, phones=["2125550142"])
        sign(first, acme["id"])
    with TestClient(create_app(make_settings(db_url)), headers=headers) as second:
        decision = check(second, phone="212-555-0142")
        assert decision["allowed"] is True and decision["contract"]["status"] == "signed"
        assert len(ok(second.get(f"/v1/clients/{acme['id']}/events"))["items"]) == 2


def test_migrations_match_the_models(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            services = connection.execute(sa.text("SELECT code FROM services ORDER BY code")).scalars().all()
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations drift: {diff}"
    assert services == ["advanced_support", "onsite_support", "priority_onsite", "priority_support",
                        "proactive_monitoring", "remote_support", "triage"]
