"""The OpenAPI document as served and checked in under openapi/ (stable: sorted keys, no machine settings).

FastAPI's own document is refined here so that it says exactly what the app answers (schemathesis
holds the app to it): errors as application/problem+json, the statuses every route can give (413
body limit; 401/403/429/503 on keyed routes), the key as a security scheme, and the schemas only
named through `openapi_extra`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.api.route_table import app_routes
from service.api.schemas.checks import CheckRequest, DecisionOut, FlatDecision

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_CONTENT = {"application/problem+json": {"schema": PROBLEM_REF}}
KEYED_ERRORS = {
    "401": "Missing, unknown, revoked or expired API key",
    "403": "The key lacks the scope this route needs",
    "429": "This key's rate limit is spent; retry after `Retry-After` seconds",
    "503": "The database cannot be reached (writes are refused; retry after `Retry-After` seconds)",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <api key>`"},
    "basic": {"type": "http", "scheme": "basic", "description": "HTTP Basic with the key as password (IVR webhooks)"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def _extra_schemas(schemas: dict[str, Any]) -> None:
    for model in (CheckRequest, DecisionOut, FlatDecision):
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in found.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, found)


def refine(document: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    components = document.setdefault("components", {})
    _extra_schemas(components.setdefault("schemas", {}))
    components["securitySchemes"] = SECURITY_SCHEMES
    for route in app_routes(app):
        if not route.in_schema:
            continue
        access = route.access
        for method in route.methods:
            operation = document["paths"].get(route.path, {}).get(method.lower())
            if operation is None:
                continue
            responses: dict[str, Any] = operation["responses"]
            responses.setdefault("413", {"description": "The request body is larger than the limit"})
            if access.needs_key:
                for status, description in KEYED_ERRORS.items():
                    responses.setdefault(status, {"description": description})
                operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
            for status, response in responses.items():
                if int(status) >= 400:
                    # A page (the signing page) may answer its refusals as HTML: kept beside problem+json.
                    html = {k: v for k, v in response.get("content", {}).items() if k == "text/html"}
                    response["content"] = {**PROBLEM_CONTENT, **html}
                if status in ("429", "503"):
                    response["headers"] = RETRY_AFTER
    _add_links(document)
    return document


METHODS = ("get", "put", "post", "patch", "delete")
# Links no path prefix implies: (from method, from path, to method, to path, parameter, response field).
EXTRA_LINKS = [("post", "/v1/clients/{client_id}/overrides", "delete", "/v1/overrides/{override_id}", "override_id", "id")]


def _add_links(document: dict[str, Any]) -> None:
    """OpenAPI links from each creation to the operations on what it created (schemathesis's stateful
    phase follows them): POST /v1/clients -> /v1/clients/{client_id}/..., and the like."""
    paths: dict[str, Any] = document["paths"]
    schemas: dict[str, Any] = document["components"]["schemas"]
    operations = {(m, p): op for p, item in paths.items() for m, op in item.items() if m in METHODS}
    planned: list[tuple[str, str, str, str, str, str]] = list(EXTRA_LINKS)
    for (method, path), operation in operations.items():
        created = operation["responses"].get("201") if method == "post" else None
        ref = (created or {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        properties = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}) if ref else {}
        field = "id" if "id" in properties else "version" if "version" in properties else None
        if field is None:
            continue
        for target_method, target_path in operations:
            if target_path.startswith(path + "/{"):
                parameter = target_path[len(path) + 2:].split("}", 1)[0]
                planned.append((method, path, target_method, target_path, parameter, field))
    for method, path, target_method, target_path, parameter, field in planned:
        source, target = operations.get((method, path)), operations.get((target_method, target_path))
        if source is None or target is None or "201" not in source["responses"]:
            continue
        links = source["responses"]["201"].setdefault("links", {})
        links[target["operationId"]] = {
            "operationId": target["operationId"], "parameters": {parameter: f"$response.body#/{field}"},
        }


def install(app: FastAPI) -> None:
    """Serve the refined document at /openapi.json (built once, on first use)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = refine(generate(), app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
