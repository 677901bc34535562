from fastapi.testclient import TestClient

from tests.helpers import check, codes, create_client, ok, publish_contract, put_plans


def test_a_check_through_the_api(client: TestClient) -> None:
    put_plans(client)
    publish_contract(client)
    acme = create_client(client, phones=["(212) 555-0142"], emails=["office@acme.com"])
    decision = check(client, phone="212.555.0142")
    assert decision["client"]["id"] == acme["id"]
    assert decision["allowed"] is True
    assert codes(decision) == ["CONTRACT_PENDING"]
    ok(client.get("/readyz"))
