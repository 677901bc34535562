"""Clients and their identifiers: create, change, archive, look up, search."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service import identifiers as ids
from service.domain import model as dm
from service.errors import Conflict, InvalidInput, NotFound
from service.ids import new_id
from service.storage import tables as t
from service.storage.contacts import holders
from service.storage.sql import SqlRepository
from service.usecases import audit

IdentifierKey = tuple[str, str, str]


@dataclass
class IdentifierSet:
    """A client's identifiers, normalised: (kind, system, value) keys."""

    emails: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    external_refs: list[tuple[str, str]] = field(default_factory=list)

    def keys(self) -> list[IdentifierKey]:
        keys: list[IdentifierKey] = [("email", "", v) for v in self.emails]
        keys += [("domain", "", v) for v in self.domains]
        keys += [("phone", "", v) for v in self.phones]
        keys += [("external", s, v) for s, v in self.external_refs]
        return list(dict.fromkeys(keys))

    @classmethod
    def from_keys(cls, keys: Iterable[IdentifierKey]) -> IdentifierSet:
        result = cls()
        for kind, system, value in keys:
            if kind == "email":
                result.emails.append(value)
            elif kind == "domain":
                result.domains.append(value)
            elif kind == "phone":
                result.phones.append(value)
            else:
                result.external_refs.append((system, value))
        return result

    def as_dict(self) -> dict[str, Any]:
        return {
            "emails": self.emails,
            "domains": self.domains,
            "phones": self.phones,
            "external_refs": [{"system": s, "id": v} for s, v in self.external_refs],
        }


def normalize_identifiers(
    *,
    emails: Sequence[str] = (),
    domains: Sequence[str] = (),
    phones: Sequence[str] = (),
    external_refs: Sequence[tuple[str, str]] = (),
    region: str,
    field_prefix: tuple[str | int, ...] = ("body",),
) -> IdentifierSet:
    """Normalise every identifier; all problems are reported together as one 422."""
    errors: list[dict[str, Any]] = []
    result = IdentifierSet()

    def each(name: str, values: Sequence[Any], convert: Any, target: list[Any]) -> None:
        for index, value in enumerate(values):
            try:
                converted = convert(value)
            except InvalidInput as exc:
                errors.append({"loc": [*field_prefix, name, index], "msg": exc.detail})
                continue
            if converted not in target:
                target.append(converted)

    each("emails", emails, ids.normalize_email, result.emails)
    each("domains", domains, ids.normalize_domain, result.domains)
    each("phones", phones, lambda v: ids.normalize_phone(v, region), result.phones)
    each("external_refs", external_refs, lambda ref: ids.normalize_external(*ref), result.external_refs)
    if errors:
        raise InvalidInput("some identifiers are not valid", errors=errors)
    return result


def _check_free(repo: SqlRepository, keys: Iterable[IdentifierKey], client_id: str | None) -> None:
    # A contact's e-mail or phone is taken too, even by the same client (one live row per identifier).
    taken = [k for k, (owner, contact) in holders(repo.session, list(keys)).items() if owner != client_id or contact]
    if taken:
        kind, system, value = taken[0]
        label = f"{system}:{value}" if system else value
        raise Conflict(f"{kind} {label!r} belongs to another client")


def _add_identifiers(session: Session, client_id: str, keys: Iterable[IdentifierKey], now: datetime) -> None:
    for kind, system, value in keys:
        session.add(t.ClientIdentifier(client_id=client_id, kind=kind, system=system, value=value, created_at=now))


def identifiers_of(repo: SqlRepository, client_ids: Sequence[str]) -> dict[str, IdentifierSet]:
    keys: dict[str, list[IdentifierKey]] = {cid: [] for cid in client_ids}
    for row in repo.live_identifiers(client_ids):
        keys[row.client_id].append((row.kind, row.system, row.value))
    return {cid: IdentifierSet.from_keys(k) for cid, k in keys.items()}


def create_client(
    session: Session, *, name: str, identifiers: IdentifierSet, actor: str, now: datetime
) -> t.Client:
    name = name.strip()
    if not name:
        raise InvalidInput("a client needs a name", errors=[{"loc": ["body", "name"], "msg": "must not be blank"}])
    repo = SqlRepository(session)
    keys = identifiers.keys()
    _check_free(repo, keys, None)
    client = t.Client(id=new_id("cl"), name=name, status="active", created_at=now, updated_at=now)
    session.add(client)
    session.flush()
    _add_identifiers(session, client.id, keys, now)
    audit.record(
        session, kind="client.created", actor=actor, at=now, scope="client", client_id=client.id,
        after={"name": name, "status": "active", **identifiers.as_dict()},
    )
    session.flush()
    return client


def client_state(session: Session, client_id: str) -> dm.ClientState | None:
    """The client's decision inputs as the check reads them (what the session has flushed included)."""
    return SqlRepository(session).load_client_state(client_id)


def client_row(session: Session, client_id: str) -> t.Client:
    """The client, or NotFound."""
    return get_client_row(SqlRepository(session), client_id)


def known_client(client: t.Client | None, client_id: str) -> t.Client:
    """The client found, or NotFound (404) naming the id asked for."""
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    return client


def get_client_row(repo: SqlRepository, client_id: str) -> t.Client:
    return known_client(repo.get_client(client_id), client_id)


def update_client(
    session: Session,
    client_id: str,
    *,
    name: str | None,
    status: str | None,
    identifiers: dict[str, IdentifierSet | None],
    actor: str,
    now: datetime,
) -> t.Client:
    """Change the given fields only; an identifier list given replaces that kind's list."""
    repo = SqlRepository(session)
    client = get_client_row(repo, client_id)
    current = identifiers_of(repo, [client_id])[client_id]
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if name is not None and name.strip() and name.strip() != client.name:
        before["name"], after["name"] = client.name, name.strip()
        client.name = name.strip()
    elif name is not None and not name.strip():
        raise InvalidInput("a client needs a name", errors=[{"loc": ["body", "name"], "msg": "must not be blank"}])
    if status is not None and status != client.status:
        before["status"], after["status"] = client.status, status
        client.status = status

    live = {(r.kind, r.system, r.value): r for r in repo.live_identifiers([client_id])}
    kind_of_field = {"emails": "email", "domains": "domain", "phones": "phone", "external_refs": "external"}
    new_keys: list[IdentifierKey] = []
    for field_name, replacement in identifiers.items():
        if replacement is None:
            continue
        kind = kind_of_field[field_name]
        wanted = [k for k in replacement.keys() if k[0] == kind]
        existing = [k for k in live if k[0] == kind]
        if set(wanted) == set(existing):
            continue
        before[field_name] = current.as_dict()[field_name]
        after[field_name] = IdentifierSet.from_keys(wanted).as_dict()[field_name]
        for key in existing:
            if key not in wanted:
                repo.remove_identifier(live[key], now)
        new_keys += [k for k in wanted if k not in live]
    _check_free(repo, new_keys, client_id)
    _add_identifiers(session, client_id, new_keys, now)
    if after:
        client.updated_at = now
        kind = "client.archived" if after.get("status") == "archived" else "client.updated"
        if after.get("status") == "active":
            kind = "client.reactivated"
        audit.record(session, kind=kind, actor=actor, at=now, scope="client", client_id=client_id, before=before, after=after)
    session.flush()
    return client


def search_keys(q: str, region: str) -> list[IdentifierKey]:
    """Exact identifier forms a free-text query may stand for (a phone typed any way, an e-mail)."""
    keys: list[IdentifierKey] = []
    text = q.strip()
    if "@" in text:
        try:
            keys.append(("email", "", ids.normalize_email(text)))
        except InvalidInput:
            pass
    if any(ch.isdigit() for ch in text):
        try:
            keys.append(("phone", "", ids.normalize_phone(text, region)))
        except InvalidInput:
            pass
    return keys


def contract_status_filter(values: str | None) -> list[str] | None:
    if not values:
        return None
    wanted = [v.strip() for v in values.split(",") if v.strip()]
    allowed = {s.value for s in dm.ContractStatus}
    bad = [v for v in wanted if v not in allowed]
    if bad:
        raise InvalidInput(
            f"unknown contract status {bad[0]!r}",
            errors=[{"loc": ["query", "contract_status"], "msg": f"one of {', '.join(sorted(allowed))}"}],
        )
    return wanted


# ---- reads for the API and the web page -----------------------------------------------------------
def search_clients(
    session: Session, *, catalog: dm.Catalog, now: datetime, q: str | None, identifier_matches: Sequence[IdentifierKey],
    contract_statuses: Sequence[str] | None, plan: str | None, status: str | None, limit: int, after_id: str | None,
) -> list[tuple[t.Client, str]]:
    """Clients matching the filters, by id, each with its contract status at `now` (computed in SQL)."""
    return SqlRepository(session).search_clients(
        catalog=catalog, now=now, q=q, identifier_matches=identifier_matches, contract_statuses=contract_statuses,
        plan=plan, status=status, limit=limit, after_id=after_id,
    )


def current_memberships(session: Session, client_ids: Sequence[str]) -> dict[str, t.Membership]:
    return SqlRepository(session).current_memberships(client_ids)


def identifiers_for(session: Session, client_ids: Sequence[str]) -> dict[str, IdentifierSet]:
    return identifiers_of(SqlRepository(session), client_ids)


def client_events(session: Session, client_id: str, *, limit: int, before_seq: int | None) -> Sequence[t.Event]:
    """The client's audit trail, newest first."""
    return SqlRepository(session).client_events(client_id, limit=limit, before_seq=before_seq)

