"""A client's named contacts: normalised, their e-mails and phones held as identifiers of the client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service import identifiers as ids
from service.domain.model import ContactRole
from service.errors import Conflict, InvalidInput
from service.ids import new_id
from service.storage import contacts as store
from service.storage import tables as t
from service.usecases import audit

IdentifierKey = tuple[str, str, str]
ROLES = tuple(r.value for r in ContactRole)


@dataclass(frozen=True)
class ContactInput:
    """One contact, normalised: e-mail lower-cased, phone in E.164, roles sorted and unique."""

    name: str
    email: str | None
    phone: str | None
    roles: tuple[str, ...]

    def keys(self) -> list[IdentifierKey]:
        keys: list[IdentifierKey] = []
        if self.email:
            keys.append(("email", "", self.email))
        if self.phone:
            keys.append(("phone", "", self.phone))
        return keys

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email, "phone": self.phone, "roles": list(self.roles)}


def normalize_contact(
    name: Any, email: Any, phone: Any, roles: Any, *, region: str, loc: Sequence[str | int] = ()
) -> ContactInput:
    """InvalidInput listing every bad field of the contact."""
    errors: list[dict[str, Any]] = []
    clean_name = name.strip() if isinstance(name, str) else ""
    if not clean_name or len(clean_name) > 300:
        errors.append({"loc": [*loc, "name"], "msg": "a contact needs a name of 1 to 300 characters"})
    clean_email = clean_phone = None
    try:
        clean_email = ids.normalize_email(email) if isinstance(email, str) and email.strip() else None
    except InvalidInput as exc:
        errors.append({"loc": [*loc, "email"], "msg": exc.detail})
    try:
        clean_phone = ids.normalize_phone(phone, region) if isinstance(phone, str) and phone.strip() else None
    except InvalidInput as exc:
        errors.append({"loc": [*loc, "phone"], "msg": exc.detail})
    role_list = roles if isinstance(roles, list | tuple) else []
    bad = [r for r in role_list if r not in ROLES]
    if bad or not isinstance(roles, list | tuple):
        errors.append({"loc": [*loc, "roles"], "msg": f"roles are a list of {', '.join(ROLES)}"})
    if errors:
        raise InvalidInput("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors), errors=errors)
    return ContactInput(clean_name, clean_email, clean_phone, tuple(sorted(set(role_list))))


def check_distinct(contacts: Sequence[ContactInput], own_keys: Sequence[IdentifierKey]) -> None:
    """Two contacts of one client (or a contact and the client itself) cannot share an e-mail or phone."""
    seen = set(own_keys)
    for contact in contacts:
        for key in contact.keys():
            if key in seen:
                raise InvalidInput(f"{key[0]} {key[2]!r} is given twice (contacts and the client's identifiers are one set)")
            seen.add(key)


def contacts_view(session: Session, client_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each client's live contacts as the API shows them: {id, name, email, phone, roles}."""
    links: dict[tuple[str, str], str] = {}
    for ident in store.contact_identifiers(session, client_ids):
        assert ident.contact_id is not None
        links[(ident.contact_id, ident.kind)] = ident.value
    views: dict[str, list[dict[str, Any]]] = {cid: [] for cid in client_ids}
    for row in store.live_contacts(session, client_ids):
        views[row.client_id].append({
            "id": row.id, "name": row.name, "email": links.get((row.id, "email")),
            "phone": links.get((row.id, "phone")), "roles": [r for r in row.roles.split(",") if r],
        })
    for listed in views.values():
        listed.sort(key=lambda v: (v["name"].casefold(), v["id"]))  # as the decision's state orders them
    return views


def _same(view: dict[str, Any], contact: ContactInput) -> bool:
    return (view["name"], view["email"], view["phone"], tuple(view["roles"])) == (
        contact.name, contact.email, contact.phone, contact.roles
    )


def identifier_rows(client_id: str, contact_id: str, contact: ContactInput, now: datetime) -> list[dict[str, Any]]:
    return [
        {"client_id": client_id, "kind": kind, "system": system, "value": value, "created_at": now, "removed_at": None,
         "contact_id": contact_id}
        for kind, system, value in contact.keys()
    ]


def save_contacts(
    session: Session, client: t.Client, contacts: Sequence[ContactInput] | None, restrict: bool | None,
    *, actor: str, now: datetime,
) -> bool:
    """Replace the client's contacts (None: leave them) and set restrict_to_contacts (None: leave it).
    An e-mail or phone held by another client, or by this client outside its contacts, is a 409.
    Records one audit event when anything changed; True then."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if restrict is not None and restrict != client.restrict_to_contacts:
        before["restrict_to_contacts"], after["restrict_to_contacts"] = client.restrict_to_contacts, restrict
        client.restrict_to_contacts = restrict
    if contacts is not None:
        current = contacts_view(session, [client.id])[client.id]
        kept = [v for v in current if any(_same(v, c) for c in contacts)]
        gone = [v for v in current if v not in kept]
        added = [c for c in contacts if not any(_same(v, c) for v in kept)]
        if gone or added:
            before["contacts"] = [{k: v[k] for k in ("name", "email", "phone", "roles")} for v in current]
            after["contacts"] = [c.as_dict() for c in contacts]
            rows = {r.id: r for r in store.live_contacts(session, [client.id])}
            for view in gone:
                store.remove_contact(session, rows[view["id"]], now)
            holders = store.holders(session, [k for c in added for k in c.keys()])
            if holders:
                key, (owner, _contact) = next(iter(holders.items()))
                where = "another client" if owner != client.id else "this client, not as a contact's"
                raise Conflict(f"{key[0]} {key[2]!r} is already an identifier of {where}")
            for contact in added:
                row = t.ClientContact(id=new_id("ct"), client_id=client.id, name=contact.name, roles=",".join(contact.roles),
                                      created_at=now)
                session.add(row)
                session.flush()
                for ident in identifier_rows(client.id, row.id, contact, now):
                    session.add(t.ClientIdentifier(**ident))
            try:
                session.flush()
            except sa.exc.IntegrityError:
                # Another request took one of these identifiers since the check above: the same 409.
                raise Conflict("an e-mail or phone of these contacts was just taken by another client") from None
    if not after:
        return False
    client.updated_at = now
    audit.record(session, kind="client.contacts_changed", actor=actor, at=now, scope="client", client_id=client.id,
                 before=before, after=after)
    session.flush()
    return True
