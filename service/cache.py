"""In-process cache of decision inputs (catalog, client states, identifier index, API keys).

Decisions are never cached: they depend on the time. Every write leaves an event row in the same
transaction; this process drops what it changed right after commit, and a poller reads new events
so that writes made by other processes are seen within `staleness` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from service.domain import model as dm
from service.storage.changes import pending_changes
from service.storage.database import Database, is_sqlite
from service.storage.sql import AsyncReads, SqlRepository, fetch_client_state, fetch_state_by_identifier

log = logging.getLogger("supportgate.cache")

K = TypeVar("K")
V = TypeVar("V")
IdentifierKey = tuple[str, str, str]  # (kind, system, value)


class LRU(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, default: V | None = None) -> V | None:
        # No lock on the read path (the check's): each OrderedDict call is atomic under the GIL, and
        # an entry evicted between the two calls is simply a miss.
        try:
            self._data.move_to_end(key)
            return self._data[key]
        except KeyError:
            return default

    def __contains__(self, key: K) -> bool:
        return key in self._data

    def put(self, key: K, value: V) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    name: str
    scopes: frozenset[str]
    expires_at: datetime | None
    revoked_at: datetime | None

    def usable_at(self, at: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.expires_at is None or at < self.expires_at


class Miss(Exception):
    """The cache does not hold what was asked and the caller forbade I/O (hot path).

    `what` is catalog | identifier | client | key; `key` the identifier or client id missed."""

    def __init__(self, what: str, key: IdentifierKey | str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.key = key


class StateCache:
    def __init__(
        self, db: Database, policy: dm.Policy, *, max_clients: int, staleness: float, async_pool_size: int = 10
    ) -> None:
        self.db = db
        self.policy = policy
        self.staleness = staleness
        self.clients: LRU[str, dm.ClientState | None] = LRU(max_clients)
        # The state a client had when it was last invalidated: stale, so only for degraded answers
        # while the database is away (a change must not make a known caller unknown in an outage).
        self.last_known: LRU[str, dm.ClientState | None] = LRU(max_clients)
        # identifier -> owner; an entry is trusted only if the owner's cached state still lists it.
        self.index: LRU[IdentifierKey, str] = LRU(max_clients * 2)
        # identifiers nobody owns (unknown callers); cleared whenever any client changes.
        self.unknown: LRU[IdentifierKey, bool] = LRU(max_clients)
        self.keys: dict[str, KeyRecord] = {}
        # Hashes of keys that do not exist: a flood of made-up keys costs no database read each.
        # Cleared on every key change (a key created elsewhere is seen within `staleness`).
        self.unknown_keys: LRU[str, bool] = LRU(10_000)
        self._catalog: dm.Catalog | None = None
        self._last_catalog: dm.Catalog | None = None  # kept through invalidation, for degraded answers
        # Bumped on every invalidation: a load that started before one must not be stored.
        self._generation = 0
        # Bumped by catalog changes only: a client's change must not keep a fresh catalog read from being kept.
        self._catalog_generation = 0
        self._last_seq = 0
        self._gaps: dict[int, float] = {}
        self.db_available = True
        # A read-through on SQLite is a local file read (WAL readers never wait for writers):
        # cheaper on the event loop than a hop to a worker thread. PostgreSQL waits on the network.
        self.inline_io = is_sqlite(db.url)
        self._loop_thread: int | None = None
        # PostgreSQL: cold reads on asyncio connections (see load_async); set up by start().
        self.async_reads: AsyncReads | None = None
        self.async_pool_size = async_pool_size
        self._inline_connection: sa.Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop_thread = threading.get_ident()  # lifespan runs on the event loop's thread
        if not self.inline_io:
            self.async_reads = AsyncReads(self.db.url, self.async_pool_size)
        with self.db.reader() as session:
            self._last_seq = SqlRepository(session).max_event_seq()
        self.catalog()
        for sessions in (self.db.writer, self.db.reader):
            sa_event.listen(sessions, "after_commit", self._after_commit)
            sa_event.listen(sessions, "after_rollback", self._after_rollback)
        self._thread = threading.Thread(target=self._poll_loop, name="supportgate-cache-poller", daemon=True)
        self._thread.start()

    async def close_async(self) -> None:
        if self.async_reads is not None:
            await self.async_reads.close()
            self.async_reads = None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._inline_connection is not None:
            self._inline_connection.close()
            self._inline_connection = None
        for sessions in (self.db.writer, self.db.reader):
            if sa_event.contains(sessions, "after_commit", self._after_commit):
                sa_event.remove(sessions, "after_commit", self._after_commit)
                sa_event.remove(sessions, "after_rollback", self._after_rollback)

    def _after_commit(self, session: sa.orm.Session) -> None:
        self.apply(pending_changes(session))

    def _after_rollback(self, session: sa.orm.Session) -> None:
        pending_changes(session)

    # ---- invalidation ---------------------------------------------------------------------------
    def apply(self, changes: Iterable[tuple[str, str | None]]) -> None:
        client_changed = keys_changed = False
        for scope, client_id in changes:
            self._generation += 1
            if scope == "client" and client_id:
                # The index needs no sweep: entries are checked against the owner's fresh state.
                if client_id in self.clients:
                    self.last_known.put(client_id, self.clients.get(client_id))
                self.clients.pop(client_id)
                client_changed = True
            elif scope == "catalog":
                self._catalog_generation += 1
                if self._catalog is not None:
                    self._last_catalog = self._catalog
                self._catalog = None
            elif scope == "keys":
                keys_changed = True
        if client_changed:
            self.unknown.clear()
        if keys_changed:
            self.unknown_keys.clear()
            self._refresh_keys()

    def _refresh_keys(self) -> None:
        """Re-read every key held in memory (a handful), so that a revocation shows at once and the
        keys in use stay verifiable while the database is away. If that read fails, forget them all:
        a key whose state is uncertain is never accepted."""
        held = list(self.keys)
        fresh: dict[str, KeyRecord] = {}
        try:
            with self.db.reader() as session:
                repo = SqlRepository(session)
                for key_hash in held:
                    row = repo.key_by_hash(key_hash)
                    if row is not None:
                        fresh[key_hash] = KeyRecord(row.id, row.name, frozenset(row.scopes), row.expires_at, row.revoked_at)
        except Exception as exc:  # never raised: this may run inside a commit hook
            log.warning("API keys could not be re-read (%s); they will be read again on use", type(exc).__name__)
            self.keys = {}
            return
        self.keys = fresh

    def poll_once(self) -> None:
        with self.db.reader() as session:
            low = min([self._last_seq, *[g - 1 for g in self._gaps]])
            rows = SqlRepository(session).changes_since(low)
        now = time.monotonic()
        changes: list[tuple[str, str | None]] = []
        for seq, scope, client_id in rows:
            if seq <= self._last_seq and seq not in self._gaps:
                continue
            self._gaps.pop(seq, None)
            changes.append((scope, client_id))
        if rows:
            top = rows[-1][0]
            seen = {r[0] for r in rows}
            # PostgreSQL sequences can commit out of order: an id skipped now may appear later.
            for missing in range(self._last_seq + 1, top):
                if missing not in seen and top - missing < 10_000:
                    self._gaps.setdefault(missing, now)
            self._last_seq = max(self._last_seq, top)
        for seq, first_seen in list(self._gaps.items()):
            if now - first_seen > 30:
                del self._gaps[seq]
        self.apply(changes)

    def _poll_loop(self) -> None:
        interval = max(self.staleness / 2, 0.05)
        while not self._stop.wait(interval):
            try:
                self.poll_once()
                if not self.db_available:
                    log.warning("database reachable again")
                self.db_available = True
            except Exception as exc:  # the database is away: keep serving from memory
                if self.db_available:
                    log.warning("database unreachable: %s", type(exc).__name__)
                self.db_available = False

    def mark_unavailable(self) -> None:
        """A request found the database away: answer degraded at once rather than at the next poll."""
        if self.db_available:
            log.warning("database unreachable (seen by a request)")
        self.db_available = False

    # ---- reads ----------------------------------------------------------------------------------
    @contextmanager
    def _read_through(self) -> Iterator[sa.Connection]:
        """A read transaction for a cache miss. On the event loop with SQLite (inline reads) it runs
        on one connection kept for the purpose: checking a connection out of the pool and back
        costs more than the two indexed reads of a cold check."""
        if self.inline_io and threading.get_ident() == self._loop_thread:
            connection = self._inline_connection
            if connection is None or connection.closed or connection.invalidated:
                connection = self._inline_connection = self.db.read_engine.connect()
            try:
                yield connection  # one statement per read: no transaction needed
            except sa.exc.DBAPIError:
                connection.close()
                self._inline_connection = None
                raise
            return
        with self.db.read_engine.connect() as connection:
            yield connection

    def catalog(self, *, allow_io: bool = True) -> dm.Catalog:
        catalog = self._catalog
        if catalog is None:
            if not allow_io:
                raise Miss("catalog")
            generation = self._catalog_generation
            with self.db.reader() as session:
                catalog = SqlRepository(session).load_catalog(self.policy)
            if generation == self._catalog_generation:
                self._catalog = catalog
            else:
                # A change landed during the read: not fresh enough to keep, but newer than any last-known
                # catalog, so a degraded answer never falls back to an older one (as client states do).
                self._last_catalog = catalog
        return catalog

    def stale_catalog(self) -> dm.Catalog | None:
        return self._catalog or self._last_catalog

    def _indexed_owner(self, key: IdentifierKey, *, stale_ok: bool = False) -> tuple[bool, str | None]:
        """(known, owner) from memory alone; an index entry whose owner no longer lists it is dropped."""
        if self.unknown.get(key):
            return True, None
        owner = self.index.get(key)
        if owner is None:
            return False, None
        found, state = self.cached_client_state(owner, stale_ok=stale_ok)
        if not found:
            return False, None  # cannot verify without the owner's state: read through
        if state is None or key not in state.identifiers:
            if not stale_ok:
                self.index.pop(key)
            return False, None
        return True, owner

    def client_id_for(self, key: IdentifierKey, *, allow_io: bool) -> str | None:
        known, owner = self._indexed_owner(key)
        if known:
            return owner
        if not allow_io:
            raise Miss("identifier", key)
        generation = self._generation
        # The check wants the owner's state next: one statement reads both.
        with self._read_through() as connection:
            state = fetch_state_by_identifier(connection, *key)
        owner = state.id if state is not None else None
        if state is not None:
            # Safe whatever happened meanwhile: an index entry is trusted only against the owner's fresh state.
            self.index.put(key, state.id)
        if generation == self._generation:
            if state is None:
                self.unknown.put(key, True)
            else:
                self.clients.put(state.id, state)
        elif state is not None:
            # A change landed during the read: not fresh enough to serve, but a last-known state for an outage.
            self.last_known.put(state.id, state)
        return owner

    def client_state(self, client_id: str, *, allow_io: bool) -> dm.ClientState | None:
        if client_id in self.clients:
            return self.clients.get(client_id)
        if not allow_io:
            raise Miss("client", client_id)
        generation = self._generation
        with self._read_through() as connection:
            state = fetch_client_state(connection, client_id)
        if generation == self._generation:
            self.clients.put(client_id, state)
        else:
            self.last_known.put(client_id, state)  # see client_id_for
        return state

    async def load_async(self, miss: Miss) -> bool:
        """Fill the cache for an identifier or client miss without a worker thread (PostgreSQL:
        psycopg's asyncio connections; thirty-two checks waiting on threads fight over the GIL).
        False when this miss is not one it handles; database errors propagate."""
        if self.async_reads is None or miss.what not in ("identifier", "client") or miss.key is None:
            return False
        generation = self._generation
        if miss.what == "identifier":
            assert isinstance(miss.key, tuple)
            state = await self.async_reads.state_by_identifier(*miss.key)
            if state is not None:
                self.index.put(miss.key, state.id)  # verified against the owner's state on use, as in client_id_for
            if generation == self._generation:
                if state is None:
                    self.unknown.put(miss.key, True)
                else:
                    self.clients.put(state.id, state)
            elif state is not None:
                self.last_known.put(state.id, state)  # raced a change: only good for degraded answers
        else:
            assert isinstance(miss.key, str)
            state = await self.async_reads.client_state(miss.key)
            if generation == self._generation:
                self.clients.put(miss.key, state)
            elif state is not None:
                self.last_known.put(miss.key, state)
        return True

    def cached_client_state(self, client_id: str, *, stale_ok: bool = False) -> tuple[bool, dm.ClientState | None]:
        """(found, state) from memory; `stale_ok` also takes the last-known state of an invalidated client."""
        if client_id in self.clients:
            return True, self.clients.get(client_id)
        if stale_ok and client_id in self.last_known:
            return True, self.last_known.get(client_id)
        return False, None

    def cached_client_id(self, key: IdentifierKey, *, stale_ok: bool = False) -> tuple[bool, str | None]:
        return self._indexed_owner(key, stale_ok=stale_ok)

    def key(self, key_hash: str, *, allow_io: bool) -> KeyRecord | None:
        record = self.keys.get(key_hash)
        if record is not None:
            return record
        if self.unknown_keys.get(key_hash):
            return None
        if not allow_io:
            raise Miss("key")
        generation = self._generation
        with self.db.reader() as session:
            row = SqlRepository(session).key_by_hash(key_hash)
        if row is None:
            if generation == self._generation:
                self.unknown_keys.put(key_hash, True)
            return None
        record = KeyRecord(row.id, row.name, frozenset(row.scopes), row.expires_at, row.revoked_at)
        if generation == self._generation:
            self.keys[key_hash] = record
        return record
