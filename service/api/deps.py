"""Annotated dependency aliases: the request's unit of work, settings, cache, clock and caller."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service.api.middleware import Metrics
from service.cache import StateCache
from service.errors import Forbidden, RateLimited, Unauthorized, Unavailable
from service.ratelimit import RateLimiter, retry_after_header
from service.settings import Settings
from service.storage.database import Database
from service.storage.sql import SqlRepository
from service.usecases.cached_reads import read_cached
from service.usecases.keys import hash_key


@dataclass
class AppState:
    settings: Settings
    db: Database
    cache: StateCache
    metrics: Metrics
    extras: dict[str, object] = field(default_factory=dict)
    limiter: RateLimiter | None = None
    # The SQL repository the use cases' Protocols are given (RepoDep, and the web page's own sessions).
    repository: Callable[[Session], SqlRepository] = SqlRepository


# Plain lookups are `async def` on purpose: FastAPI runs a sync dependency in the thread pool,
# which costs more than the whole cached check.
async def get_app_state(request: Request) -> AppState:
    state: AppState = request.app.state.sg
    return state


StateDep = Annotated[AppState, Depends(get_app_state)]


async def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


async def get_cache(state: StateDep) -> StateCache:
    return state.cache


async def utc_now() -> datetime:
    return datetime.now(UTC)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CacheDep = Annotated[StateCache, Depends(get_cache)]
NowDep = Annotated[datetime, Depends(utc_now)]


def write_session(state: StateDep) -> Iterator[Session]:
    """One transaction per request: committed after the route returns, before the answer is sent."""
    if not state.cache.db_available:
        raise Unavailable("the database cannot be reached; writes are refused until it is back")
    with state.db.writer() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def read_session(state: StateDep) -> Iterator[Session]:
    with state.db.reader() as session:
        try:
            yield session
        finally:
            session.rollback()


SessionDep = Annotated[Session, Depends(write_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(read_session, scope="function")]


async def read_repository(state: StateDep, session: ReadSessionDep) -> SqlRepository:
    """The SQL repository over the request's read session (the same session as ReadSessionDep's):
    the concrete class is chosen here, the use cases ask for the Protocols of storage/repository.py."""
    return state.repository(session)


RepoDep = Annotated[SqlRepository, Depends(read_repository)]


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def presented_key(request: Request) -> str | None:
    """The API key from `Authorization: Bearer`, HTTP Basic (password) or `X-API-Key` — never the query."""
    return presented_key_in(request.headers.get("authorization"), request.headers.get("x-api-key"))


def presented_key_in(authorization: str | None, x_api_key: str | None) -> str | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer" and value:
            return value
        if scheme == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, _, password = decoded.partition(":")
            return password or user or None
        return None
    return x_api_key.strip() or None if x_api_key else None


@lru_cache(maxsize=4)
def _digest(secret: str) -> str:
    """hash_key, computed once for the bootstrap key rather than on every request."""
    return hash_key(secret)


async def caller_for_key_hash(digest: str, state: AppState, now: datetime) -> Caller:
    """The caller holding the key whose SHA-256 is `digest` (the API and the web page's session)."""
    bootstrap = state.settings.bootstrap_admin_key
    if bootstrap is not None and bootstrap.get_secret_value() and hmac.compare_digest(digest, _digest(bootstrap.get_secret_value())):
        return Caller("bootstrap-admin", frozenset({"admin"}))
    try:
        # Never on the event loop, even with SQLite: a key's miss is rare, and the loop serves the checks.
        record = await read_cached(lambda allow_io: state.cache.key(digest, allow_io=allow_io), inline_io=False)
    except sa.exc.DBAPIError:
        raise Unavailable("the database cannot be reached to verify this key") from None
    if record is None or not record.usable_at(now):
        raise Unauthorized("unknown, revoked or expired API key")
    return Caller(record.name, record.scopes)


async def authenticate(request: Request, state: StateDep, now: NowDep) -> Caller:
    return await admit(presented_key(request), request.scope, state, now)


async def admit(key: str | None, scope: MutableMapping[str, Any], state: AppState, now: datetime) -> Caller:
    """The caller holding `key`, counted against its rate limit; noted in the scope for the access log."""
    if not key:
        raise Unauthorized("an API key is required (Authorization: Bearer <key>)")
    caller = await caller_for_key_hash(hash_key(key), state, now)
    scope.setdefault("state", {})["caller_name"] = caller.name
    if state.limiter is not None:
        wait = state.limiter.acquire(caller.name)
        if wait:
            raise RateLimited(f"the rate limit of key {caller.name!r} is spent; retry shortly",
                              retry_after=retry_after_header(wait))
    return caller


authenticate.needs_key = True  # type: ignore[attr-defined]  # read by route_table.route_access()
AuthDep = Annotated[Caller, Depends(authenticate)]


def require(*scopes: str) -> object:
    """A dependency admitting callers holding any of `scopes` (admin holds them all)."""

    async def check(caller: AuthDep) -> Caller:
        if not any(caller.has(scope) for scope in scopes):
            raise Forbidden(f"this key lacks the scope {' or '.join(scopes)}")
        return caller

    check.required_scopes = scopes  # type: ignore[attr-defined]  # read by route_table.route_access()
    return Depends(check)


CheckCaller = Annotated[Caller, require("entitlements:check")]
Reader = Annotated[Caller, require("clients:read")]
Writer = Annotated[Caller, require("clients:write")]
Admin = Annotated[Caller, require("admin")]
CatalogReader = Annotated[Caller, require("admin", "clients:read")]
