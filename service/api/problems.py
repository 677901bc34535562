"""Every error as RFC 9457 problem+json: service errors, validation errors, HTTP errors, crashes."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.errors import ServiceError, Unauthorized, Unavailable

log = logging.getLogger("supportgate.api")
PROBLEM = "application/problem+json"


def problem_body(status: int, title: str, detail: str, code: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": f"urn:supportgate:problem:{code}", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(
    status: int, title: str, detail: str, code: str, errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        orjson.dumps(problem_body(status, title, detail, code, errors)), status_code=status, media_type=PROBLEM,
        headers=headers,
    )


def service_error_body(exc: ServiceError) -> dict[str, Any]:
    return problem_body(exc.http_status, exc.title, exc.detail, exc.code, exc.errors)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    cleaned = []
    for error in errors:
        loc = [part if isinstance(part, (str, int)) else str(part) for part in error.get("loc", ())]
        cleaned.append({"loc": loc, "msg": str(error.get("msg", "invalid"))})
    return cleaned


def validation_body(exc: RequestValidationError) -> dict[str, Any]:
    errors = _clean_errors(exc.errors())
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return problem_body(422, "Invalid input", detail, "invalid-input", errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        headers: dict[str, str] = {}
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = 'Bearer realm="supportgate", Basic realm="supportgate"'
        if isinstance(exc, Unavailable):
            headers["Retry-After"] = "5"
        return problem_response(exc.http_status, exc.title, exc.detail, exc.code, exc.errors, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return Response(orjson.dumps(validation_body(exc)), status_code=422, media_type=PROBLEM)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        if status == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body it cannot decode (bad UTF-8, broken multipart): bad input, like bad JSON.
            return problem_response(422, "Invalid input", "the request body cannot be decoded", "invalid-input",
                                    [{"loc": ["body"], "msg": "undecodable body"}])
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        detail = exc.detail if isinstance(exc.detail, str) else title
        if status == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}"
        return problem_response(status, title, detail, title.lower().replace(" ", "-"), headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        import sqlalchemy as sa

        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError):
            log.warning("database unavailable during %s %s: %s", request.method, request.url.path, type(exc).__name__)
            return problem_response(
                503, "Service unavailable", "the database cannot be reached; try again shortly", "unavailable",
                headers={"Retry-After": "5"},
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "Internal server error", "an unexpected error occurred", "internal")
