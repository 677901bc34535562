"""The signing-link use cases: the token is shown once and stored only as its SHA-256; states; revocation."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.domain.signing import SigningForm
from service.errors import Conflict, Gone, InvalidInput, NotFound
from service.storage import tables as t
from service.storage.database import Database
from service.usecases.signing import submit
from service.usecases.signing_links import create_signing_link, hash_token, link_for_token, revoke_signing_link, usable_link
from tests.helpers import create_client, now, publish_contract

pytestmark = pytest.mark.storage


def test_a_link_holds_only_the_hash_of_its_token(client: TestClient, db_url: str) -> None:
    publish_contract(client)
    acme = create_client(client, emails=["ann@acme.example"])
    db = Database.connect(db_url, pool_size=1)
    try:
        at = now()
        with db.writer() as session:
            link, url = create_signing_link(session, client_id=acme["id"], email="Ann@Acme.example", contract_version=None,
                                            now=at, actor="tech", public_url="https://gate.example/")
            session.commit()
        assert url.startswith("https://gate.example/sign/")
        token = url.rsplit("/", 1)[1]
        assert (link.email, link.contract_version, link.status, link.expires_at) == ("ann@acme.example", "2026.1", "active",
                                                                                    at + timedelta(days=30))
        with db.reader() as session:
            stored = session.scalars(sa.select(t.SigningLink)).one()
            assert stored.token_hash == hash_token(token) and token not in repr(vars(stored))
            assert usable_link(session, token, at).id == link.id
            assert usable_link(session, token, at + timedelta(days=29)).id == link.id
            with pytest.raises(Gone):
                usable_link(session, token, at + timedelta(days=30))  # expired
            with pytest.raises(NotFound):
                link_for_token(session, token[:-1])  # truncated
            kinds = [e.kind for e in session.scalars(sa.select(t.Event).where(t.Event.client_id == acme["id"]))]
            assert "signing_link.created" in kinds
        with db.writer() as session:
            revoked = revoke_signing_link(session, link.id, actor="tech", now=at)
            session.commit()
        assert revoked.status == "revoked"
        with db.reader() as session, pytest.raises(Gone):
            usable_link(session, token, at)
        with db.writer() as session:
            with pytest.raises(InvalidInput):
                create_signing_link(session, client_id=acme["id"], email="not an address", contract_version=None, now=at, actor="t")
            with pytest.raises(InvalidInput):
                create_signing_link(session, client_id=acme["id"], email="a@b.example", contract_version="1999", now=at, actor="t")
            with pytest.raises(NotFound):
                create_signing_link(session, client_id="cl_nobody", email="a@b.example", contract_version=None, now=at, actor="t")
    finally:
        db.dispose()


def test_without_a_published_version_the_version_must_be_named(client: TestClient, db_url: str) -> None:
    acme = create_client(client)
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.writer() as session, pytest.raises(Conflict):
            create_signing_link(session, client_id=acme["id"], email="a@b.example", contract_version=None, now=now(), actor="t")
    finally:
        db.dispose()


def test_two_racing_submits_record_one_acceptance(client: TestClient, db_url: str) -> None:
    publish_contract(client)
    acme = create_client(client)
    db = Database.connect(db_url, pool_size=3)
    form = SigningForm("accept", "Ann Smith", "", True, "")
    try:
        with db.writer() as session:
            _link, url = create_signing_link(session, client_id=acme["id"], email="ann@acme.example", contract_version=None,
                                             now=now(), actor="t", public_url="http://x")
            session.commit()
        token = url.rsplit("/", 1)[1]
        outcomes: list[str] = []

        def second() -> None:
            with db.writer() as other:
                try:
                    submit(other, token, form, ip="10.0.0.2", user_agent="b", now=now(), public_url="http://x")
                    other.commit()
                    outcomes.append("recorded")
                except Gone:
                    outcomes.append("gone")

        with db.writer() as first:
            submit(first, token, form, ip="10.0.0.1", user_agent="a", now=now(), public_url="http://x")
            racer = threading.Thread(target=second)
            racer.start()
            racer.join(timeout=0.5)  # it waits for our write lock / row lock
            first.commit()
        racer.join(timeout=30)
        assert outcomes == ["gone"]
        with db.reader() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(t.Acceptance)) == 1
            assert session.scalar(sa.select(sa.func.count()).select_from(t.ClickThroughEvidence)) == 1
    finally:
        db.dispose()
