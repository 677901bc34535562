"""The checked-in OpenAPI document must match the app; every operation is documented."""

from pathlib import Path

import orjson

from service.api.openapi_file import render_openapi

DOC = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_checked_in_openapi_matches_the_app() -> None:
    assert DOC.read_text() == render_openapi(), "openapi/openapi.json is stale: run `make openapi`"


def test_every_operation_has_a_summary_and_a_response_model() -> None:
    spec = orjson.loads(render_openapi())
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            ok = operation["responses"].get("200") or operation["responses"].get("201")
            if ok is None and ("204" in operation["responses"] or "303" in operation["responses"]):
                continue  # no content, or a redirect (the signing form): nothing to describe
            assert ok is not None and ok.get("content"), f"{method.upper()} {path} documents no success body"
