"""The search filter, the coverage report and the check say the same about who is a member."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import check, create_client, in_days, iso, ok, put_plans


def test_a_lapsed_gold_membership_is_not_listed_as_gold(client: TestClient) -> None:
    put_plans(client)
    lapsed = create_client(client, name="Lapsed", phones=["2125550101"])
    current = create_client(client, name="Current", phones=["2125550102"])
    dunning = create_client(client, name="In dunning", phones=["2125550103"])
    ok(client.put(f"/v1/clients/{lapsed['id']}/membership",
                  json={"plan": "gold", "status": "active", "current_period_end": iso(in_days(-30))}))
    ok(client.put(f"/v1/clients/{current['id']}/membership",
                  json={"plan": "gold", "status": "active", "current_period_end": iso(in_days(30))}))
    # past_due two days after the period's end: still inside the dunning grace (7 days by default).
    ok(client.put(f"/v1/clients/{dunning['id']}/membership",
                  json={"plan": "gold", "status": "past_due", "current_period_end": iso(in_days(-2))}))

    listed = {c["name"] for c in ok(client.get("/v1/clients", params={"plan": "gold"}))["items"]}
    ranks = {name: check(client, "triage", phone=phone)["membership"]["rank"]
             for name, phone in (("Lapsed", "2125550101"), ("Current", "2125550102"), ("In dunning", "2125550103"))}
    coverage = ok(client.get("/v1/reports/coverage"))
    assert listed == {"Current", "In dunning"}
    assert ranks == {"Lapsed": 0, "Current": 2, "In dunning": 2}
    assert coverage["members"]["gold"] == 2
