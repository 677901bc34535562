"""The Amazon Connect Lambda handler, run on Amazon's documented sample event against a live server.

The sample event is the one in the AWS Lambda developer guide, "Using Lambda with Amazon Connect"
(https://docs.aws.amazon.com/lambda/latest/dg/services-connect.html), stored in data/.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.integrations.fixtures import US_PHONE, make_key
from tests.integrations.server import Server, free_port
from tests.integrations.test_caller_forms import FLAT_KEYS
from tests.integrations.test_recipes import RECIPES

pytestmark = pytest.mark.slow
SAMPLE = json.loads((Path(__file__).parent / "data/connect-sample-event.json").read_text())
LAMBDA = RECIPES / "amazon-connect/lambda_function.py"


def load_lambda() -> ModuleType:
    spec = importlib.util.spec_from_file_location("connect_lambda", LAMBDA)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event_for(address: str, **parameters: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(SAMPLE)
    event["Details"]["ContactData"]["CustomerEndpoint"]["Address"] = address
    event["Details"]["Parameters"].update(parameters)
    return event


@pytest.fixture
def live(db_url: str) -> Iterator[tuple[Server, str]]:
    """A running `supportgate serve` with a Gold member at +1 317 555 0125, and a check-only key."""
    server = Server({"SUPPORTGATE_DATABASE_URL": db_url, "SUPPORTGATE_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
                     "SUPPORTGATE_LOG_LEVEL": "ERROR"}).start()
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10) as admin:
            from tests.integrations.fixtures import gold_member

            gold_member(admin)  # the same calls through a real socket
        yield server, make_key(db_url, "connect", ["entitlements:check"])
    finally:
        server.stop()


def assert_string_map(answer: Any) -> None:
    assert isinstance(answer, dict) and FLAT_KEYS <= answer.keys()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in answer.items()), answer


def test_the_lambda_uses_the_standard_library_only() -> None:
    tree = ast.parse(LAMBDA.read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules and modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)
    assert callable(load_lambda().lambda_handler)


def test_connect_lambda_on_the_documented_sample_event(live: tuple[Server, str], monkeypatch: pytest.MonkeyPatch) -> None:
    server, key = live
    monkeypatch.setenv("SUPPORTGATE_URL", server.url)
    monkeypatch.setenv("SUPPORTGATE_API_KEY", key)
    monkeypatch.delenv("SUPPORTGATE_SERVICE", raising=False)
    monkeypatch.delenv("SUPPORTGATE_TIMEOUT_SECONDS", raising=False)
    handler = load_lambda().lambda_handler

    member = handler(event_for(US_PHONE), None)
    assert_string_map(member)
    assert (member["allowed"], member["route"], member["plan"], member["degraded"], member["error"]) == (
        "true", "priority", "gold", "false", "")
    assert member["service"] == "advanced_support" and member["normalized_phone"] == US_PHONE

    # a flow's block parameter overrides the service; the environment sets the default
    assert handler(event_for(US_PHONE, service="triage"), None)["service"] == "triage"
    monkeypatch.setenv("SUPPORTGATE_SERVICE", "priority_onsite")
    assert handler(event_for(US_PHONE), None)["service"] == "priority_onsite"
    monkeypatch.delenv("SUPPORTGATE_SERVICE")

    stranger = handler(event_for("+19995550100"), None)
    assert_string_map(stranger)
    assert (stranger["found"], stranger["route"], stranger["degraded"]) == ("false", "triage", "false")

    # Amazon's sample as published: its +1234567890 is no phone number; the handler still answers
    as_published = handler(SAMPLE, None)
    assert_string_map(as_published)
    assert (as_published["route"], as_published["degraded"], as_published["error"]) == ("triage", "true", "http 422")

    monkeypatch.setenv("SUPPORTGATE_API_KEY", "sg_not_a_key")
    refused_key = handler(event_for(US_PHONE), None)
    assert (refused_key["found"], refused_key["route"], refused_key["degraded"], refused_key["error"]) == (
        "false", "triage", "true", "http 401")


def test_connect_lambda_degrades_on_timeout_and_unreachable_server(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_lambda().lambda_handler
    # a server that accepts the connection and never answers
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    try:
        monkeypatch.setenv("SUPPORTGATE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("SUPPORTGATE_API_KEY", "any")
        monkeypatch.setenv("SUPPORTGATE_TIMEOUT_SECONDS", "0.5")
        started = time.monotonic()
        slow = handler(event_for(US_PHONE), None)
        assert time.monotonic() - started < 3
        assert_string_map(slow)
        assert (slow["found"], slow["route"], slow["degraded"]) == ("false", "triage", "true") and slow["error"]
    finally:
        for conn in accepted:
            conn.close()
        silent.close()
    monkeypatch.setenv("SUPPORTGATE_URL", f"http://127.0.0.1:{free_port()}")
    refused = handler(event_for(US_PHONE), None)
    assert (refused["route"], refused["degraded"]) == ("triage", "true") and refused["error"]
    monkeypatch.delenv("SUPPORTGATE_URL")
    unset = handler(event_for(US_PHONE), None)
    assert (unset["route"], unset["degraded"], unset["error"]) == ("triage", "true", "KeyError")
    assert handler({}, None)["route"] == "triage"  # not even a Connect event
