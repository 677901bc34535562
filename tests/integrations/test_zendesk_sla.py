"""The deadline written back to a ticket names its calendar version; editing the calendar later leaves it as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import ok
from tests.integrations.fixtures import gold_member
from tests.integrations.test_zendesk import outbox, zendesk_app
from tests.integrations.zendesk_helpers import PATH, signed, ticket_body
from tests.integrations.zendesk_stub import ZendeskStub, wait_for

pytestmark = pytest.mark.storage
OFFICE = {"name": "Office", "time_zone": "America/New_York",
          "intervals": [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)], "holidays": None, "closed_dates": []}
GOLD = {"name": "Gold", "rank": 2, "monthly_price": {"amount_minor": 14900, "currency": "USD"},
        "routing": {"priority": "high", "queue": "priority"}, "calendar": "nyc",
        "sla": {"first_response_minutes": 60, "onsite_response_hours": 16, "first_response_business_minutes": 240}}


@pytest.fixture
def stub() -> Iterator[ZendeskStub]:
    server = ZendeskStub().start()
    yield server
    server.stop()


def checked_events(client: Any, client_id: str) -> list[dict[str, Any]]:
    events = ok(client.get(f"/v1/clients/{client_id}/events"))["items"]
    return [e["after"] for e in events if e["kind"] == "zendesk.ticket_checked"]


def test_ticket_notes_and_audit_keep_the_calendar_version_they_used(db_url: str, stub: ZendeskStub) -> None:
    with zendesk_app(db_url, stub.url) as client:
        acme = gold_member(client)
        ok(client.put("/v1/calendars/nyc", json=OFFICE), 201)
        ok(client.put("/v1/plans/gold", json=GOLD))
        first = ticket_body("1001", email="office@acmedental.com")
        ok(client.post(PATH, content=first, headers=signed(first, invocation="inv-a")))
        wait_for(lambda: len(stub.received) == 1, what="first delivery")
        note = stub.received[0].body["ticket"]["comment"]["body"]
        assert "First response due " in note and "(calendar nyc v1)" in note
        [v1] = checked_events(client, acme["id"])
        assert v1["sla_calendar"] == {"code": "nyc", "version": 1} and v1["first_response_due_at"]

        ok(client.put("/v1/calendars/nyc", json=OFFICE | {"closed_dates": ["2030-01-02"]}))
        second = ticket_body("1002", email="office@acmedental.com")
        ok(client.post(PATH, content=second, headers=signed(second, invocation="inv-b")))
        wait_for(lambda: len(outbox(client, "delivered")) == 2, what="second delivery")
        newest, oldest = checked_events(client, acme["id"])
        assert newest["sla_calendar"] == {"code": "nyc", "version": 2}
        assert oldest == v1  # the earlier answer's record is untouched by the edit
