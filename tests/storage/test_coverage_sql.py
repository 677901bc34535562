"""The coverage report's counts (grouped SQL) agree with the domain's contract status of every
client, across the histories that make the rules interesting."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from service.domain.contract import contract_view
from service.domain.model import ClientState
from service.storage.sql import SqlRepository
from tests.helpers import app_state, create_client, in_days, iso, now, ok, publish_contract, sign

pytestmark = pytest.mark.storage


def test_counts_match_the_domain_for_every_history(client: TestClient) -> None:
    # Published long ago: a signature cannot predate its contract (the expired history signs 410 days back).
    publish_contract(client, "2025.1", at=now() - timedelta(days=900))
    publish_contract(client, "2026.1", grace_days=30, term_days=365, at=now() - timedelta(days=500))
    t0 = now() - timedelta(days=10)
    histories: list[list[tuple[str, str, int]]] = [
        [],  # nothing: grace over (created before publication) -> unsigned
        [("2026.1", "signed", 0)],
        [("2026.1", "declined", 0)],
        [("2026.1", "signed", 0), ("2026.1", "declined", 1)],  # declined later -> declined
        [("2026.1", "declined", 0), ("2026.1", "signed", 1)],  # signed later -> signed
        [("2026.1", "declined", 0), ("2026.1", "signed", 0)],  # the same moment: the signature wins
        [("2025.1", "signed", 0)],  # only an older version
        [("2026.1", "signed", -400)],  # signed before the term ran out? signed_at 400 days before t0 -> expired
    ]
    ids = []
    for number, history in enumerate(histories):
        made = create_client(client, name=f"History {number}")
        ids.append(made["id"])
        for version, decision, offset_days in history:
            sign(client, made["id"], version, decision=decision, signed_at=t0 + timedelta(days=offset_days))
    extended = create_client(client, name="Extended grace")
    ok(client.post(f"/v1/clients/{extended['id']}/grace", json={"until": iso(in_days(20))}))
    ids.append(extended["id"])

    state = app_state(client)
    at = now()
    with state.db.reader() as session:
        repo = SqlRepository(session)
        catalog = repo.load_catalog(state.cache.policy)

        def state_of(client_id: str) -> ClientState:
            found = repo.load_client_state(client_id)
            assert found is not None, client_id
            return found

        expected = Counter(str(contract_view(state_of(i), catalog, at).status) for i in ids)
        counted = repo.coverage(catalog, at)["contract"]
    # New clients made by the API are inside their own grace: the domain and SQL agree on each.
    assert counted == dict(expected)
    assert {"signed", "declined", "expired", "pending"} <= set(counted)
