"""One declaration of the check's parameters (api/check_params.py): for every name a caller id may come
under, and every limit, the fast lane and FastAPI's route give the same status and body."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from service.api.check_params import LIMITS, PHONE_ALIASES
from tests.api.test_lane import _comparable, lane_client  # noqa: F401  (the fixture)

PHONE = "+12125550142"


def _value(name: str, length: int) -> str:
    """A value of exactly `length` characters that is otherwise fine for `name`."""
    if name in PHONE_ALIASES:
        return " " * (length - len(PHONE)) + PHONE
    if name == "at":
        return "2026-11-24T10:00:00+00:00".ljust(length, " ")
    if name == "service":
        return "t" * length
    if name == "email":
        return "a" * (length - len("@acme.com")) + "@acme.com"
    return "x" * length


def _requests(name: str, value: str) -> list[tuple[str, str, dict[str, Any]]]:
    fields = {"service": "triage", name: value} if name != "service" else {"service": value, "phone": PHONE}
    if name in ("external_system", "external_id"):
        fields = {"service": "triage", "external_system": "halo", "external_id": "1", name: value}
    return [
        ("GET", "/v1/entitlements/check?" + urlencode(fields), {}),
        ("POST", "/v1/entitlements/check", {"json": fields}),
        ("POST", "/v1/entitlements/check", {"data": fields}),
    ]


def _both(client: Any, method: str, url: str, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    app = client.app
    lane = app.lane
    with_lane = client.request(method, url, **kwargs)
    app.lane = None
    try:
        without = client.request(method, url, **kwargs)
    finally:
        app.lane = lane
    return with_lane, without


@pytest.mark.parametrize("name", sorted(LIMITS))
@pytest.mark.parametrize("over", [0, 1], ids=["at-limit", "over-limit"])
def test_lane_and_route_agree_on_every_parameter_and_limit(lane_client: Any, name: str, over: int) -> None:  # noqa: F811
    for method, url, kwargs in _requests(name, _value(name, LIMITS[name] + over)):
        with_lane, without = _both(lane_client, method, url, kwargs)
        where = f"{method} {url[:60]} {list(kwargs)}"
        assert with_lane.status_code == without.status_code, (where, with_lane.text, without.text)
        assert _comparable(json.loads(with_lane.content)) == _comparable(json.loads(without.content)), where
        if over:
            assert with_lane.status_code == 422, (where, with_lane.text)
            assert name in with_lane.text


@pytest.mark.parametrize("alias", PHONE_ALIASES)
def test_every_caller_id_alias_finds_the_client(lane_client: Any, alias: str) -> None:  # noqa: F811
    for method, url, kwargs in _requests(alias, PHONE):
        with_lane, without = _both(lane_client, method, url, kwargs)
        assert with_lane.status_code == without.status_code == 200, (method, url, with_lane.text)
        assert with_lane.json()["client"] is not None and without.json()["client"] is not None
