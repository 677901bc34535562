"""Every error as RFC 9457 problem+json: service errors, validation errors, HTTP errors, crashes."""

from __future__ import annotations

import logging
import re
import sqlite3
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from service.api.route_table import app_routes
from service.errors import RateLimited, ServiceError, Unauthorized, Unavailable
from service.storage.conflicts import as_conflict

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
    body = problem_body(exc.http_status, exc.title, exc.detail, exc.code, exc.errors)
    if getattr(exc, "problem_code", None):
        body["code"] = exc.problem_code  # type: ignore[attr-defined]  # machine-readable reason (allowances)
    return body


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


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(app.state, "method_table", None)
    if table is None:
        table = [(re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(r.path)) + "$"), r.methods) for r in app_routes(app)]
        app.state.method_table = table
    literal = {r.path: r.methods for r in app_routes(app) if "{" not in r.path}
    if path in literal:  # /v1/clients/import is its own resource, not a client id
        return sorted({m for r in app_routes(app) if r.path == path for m in r.methods})
    methods = {m for pattern, found in table if pattern.match(path) for m in found}
    return sorted(methods)


def slash_redirect(request: Request) -> Response | None:
    """A 307 to the same path with its trailing slash toggled, when that path is a route.

    The Location is relative (path and query only): an absolute one would echo the Host header,
    and `Host: evil.example` would make it a redirect to evil.example.
    """
    path = request.url.path
    if path == "/":
        return None
    other = path[:-1] if path.endswith("/") else path + "/"
    if other.startswith("//") or "\\" in other:
        return None  # `//host` would be read as another host
    scope = {**request.scope, "path": other}
    if not any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes):
        return None
    query = request.url.query
    return Response(status_code=307, headers={"Location": quote(other) + (f"?{query}" if query else "")})


def service_error_response(exc: ServiceError) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="supportgate", Basic realm="supportgate"'
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = "5"
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = exc.retry_after
    if getattr(exc, "problem_code", None):
        return Response(orjson.dumps(service_error_body(exc)), status_code=exc.http_status, media_type=PROBLEM, headers=headers)
    return problem_response(exc.http_status, exc.title, exc.detail, exc.code, exc.errors, headers)


def note_database_away(app: FastAPI) -> None:
    """What a request that found the database away tells the app (the checks answer degraded at once,
    rather than at the next poll): done by the handlers, never by a renderer."""
    state = getattr(app.state, "sg", None)
    if state is not None:
        state.cache.mark_unavailable()


def database_away_response(method: str, path: str, exc: Exception) -> Response:
    log.warning("database unavailable during %s %s: %s", method, path, type(exc).__name__)
    return problem_response(
        503, "Service unavailable", "the database cannot be reached; try again shortly", "unavailable",
        headers={"Retry-After": "5"},
    )


def unstorable_response(method: str, path: str, exc: Exception) -> Response:
    # The database refused a value (a NUL byte, an unpaired surrogate, a number out of range):
    # bad input, and the request's transaction was rolled back.
    log.info("value refused by the database on %s %s: %s", method, path, type(exc).__name__)
    return problem_response(422, "Invalid input", "a value in the request cannot be stored (control or invalid characters?)",
                            "invalid-input", [{"loc": ["body"], "msg": "value cannot be stored"}])


def crash_response(method: str, path: str, exc: Exception) -> Response:
    """Logs the exception's type and stack as JSON (its message may hold personal data; see service.logs)."""
    log.error("unhandled error", exc_info=exc, extra={"method": method, "path": path})
    return problem_response(500, "Internal server error", "an unexpected error occurred", "internal")


DATABASE_AWAY = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
UNSTORABLE = (sa.exc.DataError, UnicodeEncodeError)
# Raised through SQLAlchemy (flush, commit) or by the driver itself (a bulk COPY on PostgreSQL).
INTEGRITY: tuple[type[Exception], ...] = (sa.exc.IntegrityError, sqlite3.IntegrityError)
try:
    import psycopg

    INTEGRITY += (psycopg.IntegrityError,)
except ImportError:  # pragma: no cover - the PostgreSQL driver is a dependency, but SQLite works without it
    pass


def integrity_response(method: str, path: str, exc: Exception) -> Response:
    """A unique violation is a 409, wherever it is raised; any other integrity error is a crash (a bug)."""
    conflict = as_conflict(exc)
    if conflict is None:
        return crash_response(method, path, exc)
    log.info("conflict on %s %s: %s", method, path, conflict.detail)
    return service_error_response(conflict)


def error_response(app: FastAPI, method: str, path: str, exc: Exception) -> Response:
    """What the handlers installed below answer for `exc` (for code that runs outside FastAPI's stack)."""
    if isinstance(exc, ServiceError):
        return service_error_response(exc)
    if isinstance(exc, DATABASE_AWAY):
        note_database_away(app)
        return database_away_response(method, path, exc)
    if isinstance(exc, UNSTORABLE):
        return unstorable_response(method, path, exc)
    if isinstance(exc, INTEGRITY):
        return integrity_response(method, path, exc)
    return crash_response(method, path, exc)


async def _integrity(request: Request, exc: Exception) -> Response:
    return integrity_response(request.method, request.url.path, exc)


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        return service_error_response(exc)

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
            redirect = slash_redirect(request)
            if redirect is not None:
                return redirect
            detail = f"no route {request.url.path}"
        headers = dict(exc.headers or {})
        if status == 405:
            # Starlette names only the first matching route's methods; a path has one route per method here.
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return problem_response(status, title, detail, title.lower().replace(" ", "-"), headers=headers)

    # Registered for their own classes (not only under `Exception`): Starlette re-raises whatever
    # reaches the catch-all after answering, so these expected faults would be logged as crashes.
    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sa.exc.InterfaceError)
    @app.exception_handler(sa.exc.TimeoutError)
    async def _database_away(request: Request, exc: Exception) -> Response:
        note_database_away(request.app)
        return database_away_response(request.method, request.url.path, exc)

    @app.exception_handler(sa.exc.DataError)
    @app.exception_handler(UnicodeEncodeError)
    async def _unstorable(request: Request, exc: Exception) -> Response:
        return unstorable_response(request.method, request.url.path, exc)

    for integrity in INTEGRITY:
        app.add_exception_handler(integrity, _integrity)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        return crash_response(request.method, request.url.path, exc)
