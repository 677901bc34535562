"""The in-process cache never answers from stale identifiers or states, however writes arrive."""

from datetime import UTC, datetime

from service.api.app import policy_from
from service.cache import Miss, StateCache
from service.storage.database import Database
from service.usecases import clients
from tests.conftest import make_settings


def write(db, fn):
    with db.writer() as session:
        result = fn(session)
        session.commit()
        return result


def test_a_moved_phone_resolves_to_its_new_owner_even_after_eviction(db_url):
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
