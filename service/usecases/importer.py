"""Bulk upsert of clients from JSON or CSV: matched by external ref, then e-mail; per-row errors.

Contacts ride along (JSON `contacts`, CSV `contacts` as `name|email|phone|roles` entries separated
by `;`, roles by `,`): an import adds the contacts a client does not have yet (known by e-mail,
phone or, without either, name) and never removes one; their e-mails and phones are identifiers
like the others, so one owned by another client makes that row an error."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.ids import new_id
from service.storage import contacts as contact_store
from service.storage import tables as t
from service.storage.bulk import bulk_insert
from service.storage.sql import SqlRepository
from service.text import control_character_in
from service.usecases import audit
from service.usecases.clients import IdentifierKey, IdentifierSet, normalize_identifiers
from service.usecases.contacts import ContactInput, check_distinct, identifier_rows, normalize_contact

PACE_ROWS = 16
CSV_COLUMNS = (
    "name", "emails", "domains", "phones", "external_system", "external_id", "stripe_customer", "contacts", "restrict_to_contacts",
)
_TRUE, _FALSE = ("true", "yes", "1", "y"), ("false", "no", "0", "n", "")


@dataclass
class ImportRow:
    row: int
    name: str
    emails: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    external_refs: list[tuple[str, str]] = field(default_factory=list)
    # Raw contacts {name, email, phone, roles}, normalised with the row; None: the flag not given.
    contacts: list[dict[str, Any]] = field(default_factory=list)
    restrict_to_contacts: bool | None = None
    problem: str | None = None  # a cell that could not be read: the row's error


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _csv_contacts(cell: str | None) -> list[dict[str, Any]]:
    """`name|email|phone|roles` entries separated by `;`, roles by `,`; empty parts are absent."""
    found: list[dict[str, Any]] = []
    for entry in _split(cell):
        parts = [p.strip() for p in entry.split("|")]
        if len(parts) > 4:
            raise InvalidInput(f"a contact is name|email|phone|roles, got {entry[:80]!r}")
        name, email, phone, roles = (parts + ["", "", ""])[:4]
        found.append({"name": name, "email": email or None, "phone": phone or None,
                      "roles": [r.strip() for r in roles.split(",") if r.strip()]})
    return found


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return None if text == "" else False
    raise InvalidInput(f"restrict_to_contacts must be true or false, got {text[:20]!r}")


def rows_from_csv(text: str) -> tuple[list[ImportRow], list[dict[str, Any]]]:
    try:
        return _rows_from_csv(text)
    except csv.Error as exc:  # e.g. a bare carriage return inside an unquoted cell
        raise InvalidInput(f"the CSV cannot be read: {exc}") from None


def _rows_from_csv(text: str) -> tuple[list[ImportRow], list[dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "name" not in header:
        raise InvalidInput("the CSV needs a header row with at least a 'name' column; columns: " + ", ".join(CSV_COLUMNS))
    reader.fieldnames = header
    rows: list[ImportRow] = []
    errors: list[dict[str, Any]] = []
    for number, record in enumerate(reader, start=1):
        if None in record:
            errors.append({"row": number, "detail": "more cells than header columns"})
            continue
        refs = []
        system, ext_id = (record.get("external_system") or "").strip(), (record.get("external_id") or "").strip()
        if system or ext_id:
            refs.append((system, ext_id))
        # A billing id beside the PSA's: the Stripe customer (cus_…) that memberships follow.
        if (record.get("stripe_customer") or "").strip():
            refs.append(("stripe", (record.get("stripe_customer") or "").strip()))
        row = ImportRow(
            row=number,
            name=(record.get("name") or "").strip(),
            emails=_split(record.get("emails")),
            domains=_split(record.get("domains")),
            phones=_split(record.get("phones")),
            external_refs=refs,
        )
        try:
            row.contacts = _csv_contacts(record.get("contacts"))
            row.restrict_to_contacts = _flag(record.get("restrict_to_contacts"))
        except InvalidInput as exc:
            row.problem = exc.detail
        rows.append(row)
    return rows, errors


def rows_from_json(items: list[Any]) -> tuple[list[ImportRow], list[dict[str, Any]]]:
    rows: list[ImportRow] = []
    errors: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("name", ""), str):
            errors.append({"row": number, "detail": "each item must be an object with a string 'name'"})
            continue
        try:
            refs = [(str(r["system"]), str(r["id"])) for r in item.get("external_refs") or []]
        except (TypeError, KeyError):
            errors.append({"row": number, "detail": "external_refs must be a list of {system, id}"})
            continue
        if item.get("external_system") or item.get("external_id"):
            refs.append((str(item.get("external_system") or ""), str(item.get("external_id") or "")))
        people = item.get("contacts") or []
        if not isinstance(people, list) or not all(isinstance(c, dict) for c in people):
            errors.append({"row": number, "detail": "contacts must be a list of {name, email?, phone?, roles}"})
            continue
        try:
            restrict = _flag(item.get("restrict_to_contacts"))
        except InvalidInput as exc:
            errors.append({"row": number, "detail": exc.detail})
            continue
        rows.append(
            ImportRow(
                row=number,
                name=str(item.get("name") or "").strip(),
                emails=_split(item.get("emails")),
                domains=_split(item.get("domains")),
                phones=_split(item.get("phones")),
                external_refs=refs,
                contacts=people,
                restrict_to_contacts=restrict,
            )
        )
    return rows, errors


def import_clients(
    session: Session, rows: list[ImportRow], *, region: str, dry_run: bool, actor: str, now: datetime,
    errors: list[dict[str, Any]] | None = None,
) -> ImportResult:
    prepared, found = prepare_rows(rows, region=region, errors=errors)
    return apply_rows(session, prepared, found, dry_run=dry_run, actor=actor, now=now)


Prepared = list[tuple[ImportRow, IdentifierSet, list[ContactInput]]]


def prepare_rows(
    rows: list[ImportRow], *, region: str, errors: list[dict[str, Any]] | None = None,
    on_progress: Callable[[int], None] | None = None, every: int = 1000, pace: Callable[[], None] | None = None,
) -> tuple[Prepared, list[dict[str, Any]]]:
    """Check and normalise each row (the CPU-heavy part; no database). `on_progress(n)` after every
    `every` rows, so a job can show its progress; `pace()` every few rows, so a runner thread can
    hand the interpreter to the request loop of its process."""
    found = list(errors or [])
    prepared: Prepared = []
    for done, row in enumerate(rows, start=1):
        if pace is not None and done % PACE_ROWS == 0:
            pace()
        if on_progress is not None and done % every == 0:
            on_progress(done)
        if row.problem:
            found.append({"row": row.row, "detail": row.problem})
            continue
        if not row.name:
            found.append({"row": row.row, "detail": "name is required"})
            continue
        if len(row.name) > 300:
            found.append({"row": row.row, "detail": "name is longer than 300 characters"})
            continue
        texts = [row.name, *row.emails, *row.domains, *row.phones, *(part for ref in row.external_refs for part in ref)]
        if any(control_character_in(str(text)) for text in texts):
            found.append({"row": row.row, "detail": "a value holds a control character"})
            continue
        try:
            idents = normalize_identifiers(
                emails=row.emails, domains=row.domains, phones=row.phones, external_refs=row.external_refs, region=region
            )
        except InvalidInput as exc:
            details = "; ".join(str(e["msg"]) for e in exc.errors or []) or exc.detail
            found.append({"row": row.row, "detail": details})
            continue
        try:
            people = [normalize_contact(c.get("name"), c.get("email"), c.get("phone"), c.get("roles", []), region=region,
                                        loc=("contacts", i)) for i, c in enumerate(row.contacts)]
            check_distinct(people, idents.keys())
        except InvalidInput as exc:
            found.append({"row": row.row, "detail": exc.detail})
            continue
        prepared.append((row, idents, people))
    return prepared, found


def apply_rows(
    session: Session, prepared: Prepared, errors: list[dict[str, Any]], *, dry_run: bool, actor: str, now: datetime,
    pace: Callable[[], None] | None = None,
) -> ImportResult:
    """Match prepared rows to clients and write every change in the session's transaction (flushed only)."""
    result = ImportResult(errors=list(errors))
    repo = SqlRepository(session)
    all_keys = [k for _row, idents, people in prepared for k in idents.keys() + [k for c in people for k in c.keys()]]
    owners = repo.owners_of(all_keys)
    existing_ids = set(owners.values())
    clients = repo.clients_by_ids(list(existing_ids))
    live: dict[str, set[IdentifierKey]] = {cid: set() for cid in existing_ids}
    known_names: dict[str, set[str]] = {cid: set() for cid in existing_ids}
    for ident in repo.live_identifiers(list(existing_ids)):
        live[ident.client_id].add((ident.kind, ident.system, ident.value))
    for ident in contact_store.contact_identifiers(session, list(existing_ids)):
        live[ident.client_id].add((ident.kind, ident.system, ident.value))
    for contact in contact_store.live_contacts(session, list(existing_ids)):
        known_names[contact.client_id].add(contact.name)

    claimed: dict[IdentifierKey, str] = dict(owners)  # identifier -> client id (or row marker) in this import
    new_clients: list[dict[str, Any]] = []
    new_identifiers: list[dict[str, Any]] = []
    new_contacts: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def add_contacts(client_id: str, people: list[ContactInput]) -> None:
        for contact in people:
            contact_id = new_id("ct")
            new_contacts.append({"id": contact_id, "client_id": client_id, "name": contact.name,
                                 "roles": ",".join(contact.roles), "created_at": now, "removed_at": None})
            new_identifiers.extend(identifier_rows(client_id, contact_id, contact, now))

    for number, (row, idents, people) in enumerate(prepared):
        if pace is not None and number % PACE_ROWS == 0:
            pace()
        own = idents.keys()
        keys = own + [k for c in people for k in c.keys()]
        # Matched by the client's own identifiers only: a contact's e-mail is a person's, not the company's.
        match = next((owners[k] for k in own if k[0] == "external" and k in owners), None)
        if match is None:
            match = next((owners[k] for k in own if k[0] == "email" and k in owners), None)
        target = match or f"row:{row.row}"
        conflict = next((k for k in keys if claimed.get(k, target) != target), None)
        if conflict is not None:
            kind, system, value = conflict
            label = f"{system}:{value}" if system else value
            result.errors.append({"row": row.row, "detail": f"{kind} {label!r} belongs to another client"})
            continue
        for key in keys:
            claimed[key] = target
        if match is None:
            result.created += 1
            if not dry_run:
                client_id = new_id("cl")
                new_clients.append({"id": client_id, "name": row.name, "status": "active", "created_at": now, "updated_at": now,
                                    "restrict_to_contacts": bool(row.restrict_to_contacts)})
                new_identifiers += [
                    {"client_id": client_id, "kind": k, "system": s, "value": v, "created_at": now, "removed_at": None,
                     "contact_id": None}
                    for k, s, v in own
                ]
                add_contacts(client_id, people)
                extra: dict[str, Any] = {}
                if people or row.restrict_to_contacts:
                    extra = {"contacts": [c.as_dict() for c in people], "restrict_to_contacts": bool(row.restrict_to_contacts)}
                events.append({
                    "kind": "client.created", "actor": actor, "at": now, "scope": "client", "client_id": client_id,
                    "after": {"name": row.name, "status": "active", "source": "import", **idents.as_dict(), **extra},
                })
            continue
        client = clients[match]
        added = [k for k in own if k not in live[match]]
        fresh = [c for c in people if not (set(c.keys()) & live[match]) and (c.keys() or c.name not in known_names[match])]
        renamed = row.name != client.name
        flag = row.restrict_to_contacts is not None and row.restrict_to_contacts != client.restrict_to_contacts
        if not added and not renamed and not fresh and not flag:
            result.unchanged += 1
            continue
        result.updated += 1
        live[match].update(added + [k for c in fresh for k in c.keys()])
        known_names[match].update(c.name for c in fresh)
        if dry_run:
            continue
        before: dict[str, Any] = {"name": client.name} if renamed else {}
        after: dict[str, Any] = {"name": row.name} if renamed else {}
        if added:
            after["added_identifiers"] = IdentifierSet.from_keys(added).as_dict()
        if fresh:
            after["added_contacts"] = [c.as_dict() for c in fresh]
        if flag:
            before["restrict_to_contacts"], after["restrict_to_contacts"] = client.restrict_to_contacts, row.restrict_to_contacts
            client.restrict_to_contacts = bool(row.restrict_to_contacts)
        client.name, client.updated_at = row.name, now
        new_identifiers += [
            {"client_id": match, "kind": k, "system": s, "value": v, "created_at": now, "removed_at": None, "contact_id": None}
            for k, s, v in added
        ]
        add_contacts(match, fresh)
        events.append({"kind": "client.updated", "actor": actor, "at": now, "scope": "client", "client_id": match,
                       "before": before, "after": {**after, "source": "import"}})
    if not dry_run:
        # Multi-row INSERTs, not ORM objects: an import of 20,000 rows is the rows' SQL, not 80,000 objects.
        session.flush()  # renamed clients
        bulk_insert(session, t.Client, new_clients)
        bulk_insert(session, t.ClientContact, new_contacts)
        bulk_insert(session, t.ClientIdentifier, new_identifiers)
        audit.record_many(session, events)
    result.errors.sort(key=lambda e: int(e["row"]))
    return result
