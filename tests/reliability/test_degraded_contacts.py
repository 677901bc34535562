"""Issue 18 in degraded mode: contacts are part of the client state held in memory, so with the
database away a contact's mobile still names the contact and a stranger is still refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import make_settings
from tests.helpers import create_client, ok, publish_contract, sign
from tests.reliability.test_degraded import Proxied, checker_key, proxied, wait_for  # noqa: F401 (fixture)


@pytest.mark.slow
def test_contacts_answer_from_memory_through_an_outage(proxied: Proxied) -> None:  # noqa: F811
    direct, through, proxy = proxied
    key = checker_key(direct)
    app = create_app(make_settings(through, cache_staleness_seconds=0.2))
    with TestClient(app, headers={"Authorization": "Bearer test-admin-key"}) as admin:
        publish_contract(admin)
        acme = create_client(admin, phones=["(212) 555-0142"], domains=["acmedental.com"], restrict_to_contacts=True,
                             contacts=[{"name": "Ada", "phone": "(212) 555-0199", "roles": ["requester"]},
                                       {"name": "Bob", "phone": "(212) 555-0177", "roles": ["approver"]}])
        sign(admin, acme["id"])
        ivr = {"Authorization": f"Bearer {key}"}
        ada = {"client": {"phone": "2125550199"}, "service": "advanced_support"}
        stranger = {"client": {"email": "dave@acmedental.com"}, "service": "advanced_support"}
        before = [ok(admin.post("/v1/entitlements/check", json=body, headers=ivr)) for body in (ada, stranger)]
        assert [b["allowed"] for b in before] == [True, False]

        proxy.cut()
        wait_for(lambda: admin.get("/readyz").status_code == 503, what="/readyz to answer 503")
        during = [ok(admin.post("/v1/entitlements/check", json=body, headers=ivr)) for body in (ada, stranger)]
        assert all(d["degraded"] for d in during)
        assert during[0]["allowed"] is True and during[0]["client"]["matched_by"] == "contact"
        assert during[0]["contact"] == {"name": "Ada", "roles": ["requester"]}
        assert [r["code"] for r in during[1]["reasons"]] == ["CONTACT_NOT_AUTHORIZED"]
        assert during[1]["approvers"] == [{"name": "Bob", "phone": "+12125550177", "email": None}]
        proxy.restore()
        wait_for(lambda: admin.get("/readyz").status_code == 200, what="/readyz to answer 200 again")
