"""The entitlement check: resolve the caller, take its cached decision inputs, decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from service import identifiers as ids
from service.cache import Miss, StateCache
from service.domain import model as dm
from service.domain.allowance import Q
from service.domain.contacts import identify
from service.domain.decision import decide
from service.errors import InvalidInput, Unavailable
from service.ids import new_id

RefKind = Literal["id", "email", "phone", "external_ref"]
# Errors that mean "the database cannot be reached" (not "it refused this value": that is bad input).
DATABASE_AWAY = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


@dataclass(frozen=True, slots=True)
class ClientRef:
    """How the caller named the client, already normalised. kind None = withheld caller id."""

    kind: RefKind | None
    value: str = ""
    system: str = ""


@dataclass(frozen=True, slots=True)
class MatchedClient:
    id: str
    name: str
    matched_by: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    decision_id: str
    decision: dm.Decision
    client: MatchedClient | None
    degraded: bool
    normalized_phone: str
    contact: dm.Contact | None = None


@dataclass(frozen=True, slots=True)
class CheckExtras:
    """What a check may say beside the client and service: the person asking and the channel."""

    contact: ClientRef | None = None
    channel: str | None = None
    units_q: int = Q  # the units the agent means to use, in quarters (allowances)


NO_EXTRAS = CheckExtras()


def make_ref(
    *,
    client_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    external: tuple[str, str] | None = None,
    region: str,
    loc: tuple[str | int, ...] = ("body", "client"),
) -> ClientRef:
    """Exactly one identifier; normalised; a withheld phone is an unknown caller, not an error."""
    given = [name for name, v in (("id", client_id), ("email", email), ("phone", phone), ("external_ref", external)) if v is not None]
    if len(given) != 1:
        raise InvalidInput(
            "name the client by exactly one of id, email, phone, external_ref",
            errors=[{"loc": list(loc), "msg": f"exactly one identifier expected, got {len(given)}"}],
        )
    if any("\x00" in v for v in (client_id, email, phone, *(external or ())) if v is not None):
        raise InvalidInput("an identifier holds a NUL character", errors=[{"loc": [*loc, given[0]], "msg": "NUL character"}])
    try:
        if client_id is not None:
            if not client_id.strip():
                raise InvalidInput("empty client id")
            return ClientRef("id", client_id.strip())
        if email is not None:
            return ClientRef("email", ids.normalize_email(email))
        if phone is not None:
            if ids.is_withheld(phone):
                return ClientRef(None)
            return ClientRef("phone", ids.normalize_phone(phone, region))
        assert external is not None
        system, value = ids.normalize_external(*external)
        return ClientRef("external_ref", value, system)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, errors=[{"loc": [*loc, given[0]], "msg": exc.detail}]) from None


def _resolve(cache: StateCache, ref: ClientRef, allow_io: bool) -> tuple[str | None, str]:
    if ref.kind is None:
        return None, "phone"
    if ref.kind == "id":
        return ref.value, "id"
    if ref.kind == "phone":
        return cache.client_id_for(("phone", "", ref.value), allow_io=allow_io), "phone"
    if ref.kind == "external_ref":
        return cache.client_id_for(("external", ref.system, ref.value), allow_io=allow_io), "external_ref"
    owner = cache.client_id_for(("email", "", ref.value), allow_io=allow_io)
    if owner is not None:
        return owner, "email"
    return cache.client_id_for(("domain", "", ids.email_domain(ref.value)), allow_io=allow_io), "domain"


def _degraded_lookup(cache: StateCache, ref: ClientRef, policy: str) -> tuple[dm.ClientState | None, str]:
    """With the database away: last-known states held in memory, or nobody (triage only)."""
    if policy == "triage_only" or ref.kind is None:
        return None, "phone"
    keys: list[tuple[str, str, str]] = []
    if ref.kind == "id":
        found, state = cache.cached_client_state(ref.value, stale_ok=True)
        return (state if found else None), "id"
    if ref.kind == "phone":
        keys = [("phone", "", ref.value)]
    elif ref.kind == "external_ref":
        keys = [("external", ref.system, ref.value)]
    else:
        keys = [("email", "", ref.value), ("domain", "", ids.email_domain(ref.value))]
    for key in keys:
        found, client_id = cache.cached_client_id(key, stale_ok=True)
        if found and client_id:
            has, state = cache.cached_client_state(client_id, stale_ok=True)
            if has:
                return state, "domain" if key[0] == "domain" else ref.kind
    return None, ref.kind


def run_check(
    cache: StateCache,
    ref: ClientRef,
    service_code: str,
    *,
    now: datetime,
    at: datetime | None,
    allow_io: bool,
    degraded_policy: str = "last_known",
    extras: CheckExtras = NO_EXTRAS,
) -> CheckResult:
    """Raises cache.Miss when allow_io is False and something must be read from the database."""
    degraded = not cache.db_available
    catalog: dm.Catalog | None
    try:
        catalog = cache.catalog(allow_io=allow_io and not degraded)
    except Miss:
        if degraded:
            catalog = None
        else:
            raise
    except DATABASE_AWAY:
        cache.mark_unavailable()
        degraded, catalog = True, None
    if catalog is None:
        catalog = cache.stale_catalog()
        if catalog is None:
            raise Unavailable("the database cannot be reached and no catalog is held in memory")
    service = catalog.services.get(service_code)
    if service is None:
        raise InvalidInput(
            f"unknown service {service_code!r}",
            errors=[{"loc": ["service"], "msg": f"one of {', '.join(sorted(catalog.services))}"}],
        )

    state: dm.ClientState | None = None
    matched_by: str = ref.kind or "phone"
    if not degraded:
        try:
            client_id, matched_by = _resolve(cache, ref, allow_io)
            state = cache.client_state(client_id, allow_io=allow_io) if client_id else None
        except DATABASE_AWAY:
            cache.mark_unavailable()  # the next checks skip the database at once
            degraded = True
    if degraded:
        state, matched_by = _degraded_lookup(cache, ref, degraded_policy)

    when = at or now
    caller: dm.Caller | None = None
    if state is not None:
        named = extras.contact
        caller, matched_by = identify(
            state, matched_by, (ref.kind, ref.value) if ref.kind else None,
            (named.kind, named.value) if named is not None and named.kind else None,
        )
    decision = decide(state, service, catalog, when, extras.units_q, channel=extras.channel, caller=caller)
    return CheckResult(
        decision_id=new_id("dec"),
        decision=decision,
        client=MatchedClient(state.id, state.name, matched_by) if state else None,
        degraded=degraded,
        normalized_phone=ref.value if ref.kind == "phone" else "",
        contact=caller.contact if caller is not None else None,
    )
