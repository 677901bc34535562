"""Issue 18 in the Zendesk write-back: the requester is the check's contact, `{{ticket.via}}` its channel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import ok
from tests.integrations.fixtures import gold_member
from tests.integrations.test_zendesk import zendesk_app
from tests.integrations.zendesk_helpers import PATH, signed, ticket_body_via
from tests.integrations.zendesk_stub import ZendeskStub, wait_for


@pytest.fixture
def stub() -> Iterator[ZendeskStub]:
    server = ZendeskStub().start()
    yield server
    server.stop()


def test_the_requester_is_the_contact_and_the_ticket_source_the_channel(db_url: str, stub: ZendeskStub) -> None:
    with zendesk_app(db_url, stub.url) as client:
        acme = gold_member(client)
        ok(client.patch(f"/v1/clients/{acme['id']}", json={"restrict_to_contacts": True, "contacts": [
            {"name": "Ada Molar", "email": "ada@acmedental.com", "roles": ["requester"]},
            {"name": "Bob Office", "phone": "(317) 555-0199", "email": "bob@acmedental.com", "roles": ["approver"]},
        ]}))
        ok(client.put("/v1/services/priority_support", json={
            "name": "Priority support", "requires_contract": True, "min_rank": 1, "channel_min_rank": {"phone": 3}}))
        tickets = {
            # found by the organization, asked by a colleague the client has not named
            "51": ticket_body_via("51", "Mail", email="new.hire@acmedental.com", org="org-1042"),
            # Ada by e-mail is served; by voice, priority support needs rank 3 (no plan on sale)
            "52": ticket_body_via("52", "Mail", email="ada@acmedental.com", service="priority_support"),
            "53": ticket_body_via("53", "Voice", email="ada@acmedental.com", service="priority_support"),
        }
        answers = {number: ok(client.post(PATH, content=body, headers=signed(body, invocation=f"inv-{number}")))
                   for number, body in tickets.items()}
        assert [answers[n]["allowed"] for n in ("51", "52", "53")] == [False, True, False]
        wait_for(lambda: len(stub.received) == 3, what="three updates")
        notes = {r.path.rsplit("/", 1)[1].split(".")[0]: r.body["ticket"]["comment"]["body"] for r in stub.received}
        assert "CONTACT_NOT_AUTHORIZED" in notes["51"]
        assert "Approvers to ask: Bob Office (+13175550199 / bob@acmedental.com)." in notes["51"]
        assert "Requester: Ada Molar, a contact of the client (requester)." in notes["52"]
        assert "TIER_REQUIRED (through the channel phone needs a membership of rank 3" in notes["53"]
