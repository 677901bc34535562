"""What the use cases need of storage, as Protocols that speak in domain objects (never ORM rows).

The SQL classes (storage/sql.py and the aggregate modules) satisfy them; the composition roots
(api/deps.py's RepoDep, the CLI) build the concrete one and hand it to the use case. A use case that
depends only on these imports nothing else of storage (import-linter holds that, pyproject.toml).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from service.domain import model as dm


class ClientStates(Protocol):
    """A client's decision inputs: the check's hot read, as the cache and the pages around it see them."""

    def load_client_state(self, client_id: str) -> dm.ClientState | None:
        """The client's state (what the session has flushed included), None when there is no such client."""
        ...

    def identifier_owner(self, kind: str, system: str, value: str) -> str | None:
        """The id of the client holding this live identifier, if anyone does."""
        ...


class CatalogSource(Protocol):
    """The catalog as the check decides with it: services, plans, published versions, calendars."""

    def load_catalog(self, policy: dm.Policy) -> dm.Catalog: ...


class CoverageCounts(Protocol):
    """The coverage report's counts, computed by the database with the rules of rules_sql."""

    def coverage(self, catalog: dm.Catalog, now: datetime) -> dict[str, Any]:
        """{"contract": {status: active clients}, "members": [(plan code, members, price minor, currency)]}"""
        ...
