"""SqlRepository: every aggregate's SQL repository over one session, for the use cases not yet on a narrower one.

The queries live in the aggregate modules (catalog_repo, client_repo, contract_repo, membership_repo,
event_repo), the hot read in state_read, bulk paths in bulk, keyset pages in paging, the rules in rules_sql.
"""

from __future__ import annotations

from service.cursors import decode_cursor, encode_cursor
from service.storage.async_reads import AsyncReads
from service.storage.bulk import bulk_insert
from service.storage.catalog_repo import CatalogSql
from service.storage.client_repo import ClientSql
from service.storage.contract_repo import ContractSql
from service.storage.event_repo import EventSql, KeySql
from service.storage.membership_repo import MembershipSql
from service.storage.paging import keyset_page
from service.storage.state_read import fetch_client_state, fetch_state_by_identifier

# Names that lived here before the split, kept so that branches written against them still import;
# new code imports them from their own module.
__all__ = [
    "AsyncReads", "SqlRepository", "bulk_insert", "decode_cursor", "encode_cursor", "fetch_client_state",
    "fetch_state_by_identifier", "keyset_page",
]


class SqlRepository(CatalogSql, ClientSql, ContractSql, MembershipSql, EventSql, KeySql):
    """All of them at once over one session (each is a SessionRepository on the same session)."""
