"""A unique (or foreign-key) violation raised by the database, as the 409 Conflict it means.

Use cases check before they write, but two requests can pass the check together: the database's
constraint is what holds, and whichever way its violation surfaces (a flush, the commit, a COPY),
it is translated here, once, by constraint name.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache

import sqlalchemy as sa

from service.errors import Conflict
from service.storage import tables as t

# What a caller is told, by constraint: the words of the product, never the values (they may be personal data).
_DETAIL = {
    "uq_client_identifiers_live": "an identifier given belongs to another client",
    "pk_clients": "a client with this id exists already",
    "uq_memberships_live": "the client's membership was changed by another request at the same moment; retry",
    "pk_contract_versions": "this contract version exists already",
    "uq_contract_versions_published_at": "another contract version is published at that moment",
    "uq_signature_requests_provider_external": "this envelope is registered already",
    "pk_services": "this service was created by another request at the same moment; retry",
    "pk_plans": "this plan was created by another request at the same moment; retry",
    "uq_acceptances_event_key": "this provider event was recorded already",
    "uq_api_keys_name": "an API key with this name exists already",
    "uq_api_keys_key_hash": "this API key exists already",
}
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")


@lru_cache(maxsize=1)
def _names_by_columns() -> dict[tuple[str, frozenset[str]], str]:
    """(table, columns) -> constraint or unique index name: SQLite names the columns, not the constraint."""
    found: dict[tuple[str, frozenset[str]], str] = {}
    for table in t.Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, (sa.UniqueConstraint, sa.PrimaryKeyConstraint)) and constraint.name:
                found[(table.name, frozenset(c.name for c in constraint.columns))] = str(constraint.name)
        for index in table.indexes:
            if index.unique and index.name:
                found[(table.name, frozenset(c.name for c in index.columns))] = str(index.name)
    return found


def constraint_of(exc: BaseException) -> str | None:
    """The name of the unique constraint `exc` violated, if it is a unique violation."""
    orig = getattr(exc, "orig", exc)
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg
        sqlstate = getattr(orig, "sqlstate", None)
        return str(diag.constraint_name or "") if sqlstate == "23505" else None
    if isinstance(orig, sqlite3.IntegrityError):
        match = _SQLITE_UNIQUE.search(str(orig))
        if match is None:
            return None
        pairs = [part.strip().split(".", 1) for part in match.group(1).split(",")]
        if not pairs or any(len(p) != 2 for p in pairs):
            return ""
        key = (pairs[0][0], frozenset(p[1] for p in pairs))
        return _names_by_columns().get(key, "")
    return None


def is_foreign_key_violation(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) == "23503":
        return True
    return isinstance(orig, sqlite3.IntegrityError) and "FOREIGN KEY constraint failed" in str(orig)


def as_conflict(exc: BaseException) -> Conflict | None:
    """The Conflict that a database integrity error stands for, or None when it is something else (a bug)."""
    name = constraint_of(exc)
    if name is not None:
        return Conflict(_DETAIL.get(name, "a value given must be unique and is taken already"))
    if is_foreign_key_violation(exc):
        return Conflict("a record this change refers to does not exist (or was changed at the same moment)")
    return None


def add_unless_taken(session: sa.orm.Session, row: object) -> bool:
    """Insert `row` in a savepoint; False (and nothing written) when a unique key says another transaction
    just inserted the same thing, so the caller can read that one instead of failing."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        return False
    return True
