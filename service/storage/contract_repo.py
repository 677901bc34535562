"""A client's contract history: acceptances (signatures) and signature requests, and their pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from service.storage import tables as t
from service.storage.paging import keyset_page
from service.storage.session_repo import SessionRepository


class ContractSql(SessionRepository):
    # ---- acceptances, signature requests, overrides, grace -------------------------------------
    def list_acceptances(self, client_id: str) -> Sequence[t.Acceptance]:
        return self.session.scalars(
            sa.select(t.Acceptance).where(t.Acceptance.client_id == client_id).order_by(t.Acceptance.signed_at.desc())
        ).all()

    def acceptance_by_event_key(self, event_key: str) -> t.Acceptance | None:
        return self.session.scalar(sa.select(t.Acceptance).where(t.Acceptance.event_key == event_key))

    def list_signature_requests(self, client_id: str) -> Sequence[t.SignatureRequest]:
        return self.session.scalars(
            sa.select(t.SignatureRequest)
            .where(t.SignatureRequest.client_id == client_id)
            .order_by(t.SignatureRequest.created_at.desc())
        ).all()

    def signature_request(self, provider: str, external_id: str) -> t.SignatureRequest | None:
        return self.session.scalar(
            sa.select(t.SignatureRequest).where(
                t.SignatureRequest.provider == provider, t.SignatureRequest.external_id == external_id
            )
        )


    def acceptance_page(self, client_id: str, *, limit: int, before: tuple[datetime, str] | None) -> Sequence[t.Acceptance]:
        """Newest signature first."""
        a = t.Acceptance
        query = sa.select(a).where(a.client_id == client_id)
        return self.session.scalars(keyset_page(query, (a.signed_at, a.id), limit=limit, after=before, descending=True)).all()

    def signature_request_page(
        self, client_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> Sequence[t.SignatureRequest]:
        """Newest registration first."""
        r = t.SignatureRequest
        query = sa.select(r).where(r.client_id == client_id)
        return self.session.scalars(keyset_page(query, (r.created_at, r.id), limit=limit, after=before, descending=True)).all()
