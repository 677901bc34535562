"""The in-process cache never answers from stale identifiers or states, however writes arrive."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from sqlalchemy.orm import Session

from service.api.app import policy_from
from service.cache import Miss, StateCache
from service.domain.model import Catalog, Policy
from service.storage.database import Database
from service.usecases import clients
from tests.conftest import make_settings

T = TypeVar("T")


def write(db: Database, fn: Callable[[Session], T]) -> T:
    with db.writer() as session:
        result = fn(session)
        session.commit()
        return result


def test_a_moved_phone_resolves_to_its_new_owner_even_after_eviction(db_url: str) -> None:
    settings = make_settings(db_url)
    db = Database.connect(db_url, pool_size=2)
    cache = StateCache(db, policy_from(settings), max_clients=1, staleness=60)  # tiny LRU, no poller
    cache.start()
    try:
        now = datetime.now(UTC)
        phone = clients.normalize_identifiers(phones=["2125550142"], region="US")
        a = write(db, lambda s: clients.create_client(s, name="A", identifiers=phone, actor="t", now=now)).id
        key = ("phone", "", "+12125550142")
        assert cache.client_id_for(key, allow_io=True) == a
        assert cache.client_state(a, allow_io=True) is not None
        assert cache.client_id_for(key, allow_io=False) == a  # hot path: from memory
        write(db, lambda s: clients.update_client(s, a, name=None, status=None,
                                                  identifiers={"phones": clients.IdentifierSet()}, actor="t", now=now))
        b = write(db, lambda s: clients.create_client(s, name="B", identifiers=phone, actor="t", now=now)).id
        cache.client_state(b, allow_io=True)  # evicts A's state (capacity 1)
        try:
            owner = cache.client_id_for(key, allow_io=False)
        except Miss:
            owner = cache.client_id_for(key, allow_io=True)
        assert owner == b
        unknown = ("phone", "", "+19175550000")
        assert cache.client_id_for(unknown, allow_io=True) is None
        assert cache.client_id_for(unknown, allow_io=False) is None  # negative answer held
        write(db, lambda s: clients.create_client(
            s, name="C", identifiers=clients.normalize_identifiers(phones=["9175550000"], region="US"), actor="t", now=now))
        try:
            found = cache.client_id_for(unknown, allow_io=False)
        except Miss:
            found = cache.client_id_for(unknown, allow_io=True)
        assert found is not None
    finally:
        cache.stop()
        db.dispose()


def test_a_catalog_read_that_raced_a_change_still_becomes_the_last_known_one(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client's change never keeps a fresh catalog read from being kept; and degraded answers use the
    newest catalog read, even one a catalog change raced: an older one would drop the member's plan."""
    from service.storage.sql import SqlRepository
    from service.usecases import catalog as catalog_uc

    settings = make_settings(db_url)
    db = Database.connect(db_url, pool_size=2)
    cache = StateCache(db, policy_from(settings), max_clients=10, staleness=60)  # no poller during the test
    cache.start()
    try:
        now = datetime.now(UTC)
        cache.catalog()  # the catalog without plans
        cache.apply([("catalog", None)])  # ... kept as last-known when a change drops it
        last_known = cache.stale_catalog()
        assert last_known is not None and "gold" not in last_known.plans
        write(db, lambda s: catalog_uc.put_plan(s, catalog_uc.PlanInput(
            code="gold", name="Gold", rank=2, amount_minor=100, currency="USD", priority="high", queue="priority",
            first_response_minutes=30, onsite_response_hours=8, active=True), actor="t", now=now))
        real_load = SqlRepository.load_catalog

        def load_while_a_client_changes(self: SqlRepository, policy: Policy) -> Catalog:
            loaded = real_load(self, policy)
            cache.apply([("client", "cl_other")])  # another client's change lands during the read
            return loaded

        monkeypatch.setattr(SqlRepository, "load_catalog", load_while_a_client_changes)
        assert "gold" in cache.catalog().plans  # a client's change does not stop the fresh read being kept
        assert "gold" in cache.catalog(allow_io=False).plans

        def load_while_the_catalog_changes(self: SqlRepository, policy: Policy) -> Catalog:
            loaded = real_load(self, policy)
            cache.apply([("catalog", None)])  # the catalog itself changed during the read
            return loaded

        monkeypatch.setattr(SqlRepository, "load_catalog", load_while_the_catalog_changes)
        cache.apply([("catalog", None)])
        assert "gold" in cache.catalog().plans  # answered from the read ...
        last_known = cache.stale_catalog()
        assert last_known is not None and "gold" in last_known.plans  # ... which is what an outage falls back to, never an older one
    finally:
        cache.stop()
        db.dispose()
