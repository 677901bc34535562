"""Plumbing shared by the web page's routes: who is visiting, templates, the cookie, security headers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from service import __version__
from service.api.deps import AppState, Caller, NowDep, StateDep, caller_for_key_hash
from service.errors import NotFound, ServiceError, Unauthorized
from service.ui import campaign_views, views
from service.ui import session as cookie
from service.ui.session import UiSession
from service.usecases import ui_sessions

# No external origin anywhere: styles, scripts, forms and images come from this app only.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
READ_SCOPE, WRITE_SCOPE = "clients:read", "clients:write"


def ui_secret(state: AppState) -> bytes:
    configured = state.settings.ui_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    # One random secret per process (kept on the app state, built on first use, never at import).
    secret = state.extras.setdefault("ui_secret", secrets.token_bytes(32))
    assert isinstance(secret, bytes)
    return secret


@dataclass(frozen=True, slots=True)
class Visit:
    """The browser's session and, when signed in with a usable key, who it is."""

    session: UiSession
    caller: Caller | None
    state: AppState
    set_cookie: bool

    @property
    def can_write(self) -> bool:
        return self.caller is not None and self.caller.has(WRITE_SCOPE)


async def visit(request: Request, state: StateDep, now: NowDep) -> Visit:
    max_age = state.settings.ui_session_hours * 3600
    found = cookie.decode(request.cookies.get(cookie.COOKIE), ui_secret(state), now=now, max_age_seconds=max_age)
    if found is None:
        return Visit(UiSession.anonymous(), None, state, set_cookie=True)
    caller = None
    if found.key_hash:
        # Checked on every request, so signing out, or revoking or expiring the key, ends the session at once.
        if not await run_in_threadpool(ui_sessions.is_live, state.db, found.session_id, found.key_hash):
            return Visit(UiSession.anonymous(), None, state, set_cookie=True)
        try:
            caller = await caller_for_key_hash(found.key_hash, state, now)
        except Unauthorized:
            return Visit(UiSession.anonymous(), None, state, set_cookie=True)
        if not caller.has(READ_SCOPE):
            caller = None
        else:
            request.scope.setdefault("state", {})["caller_name"] = caller.name
    return Visit(found, caller, state, set_cookie=False)


VisitDep = Annotated[Visit, Depends(visit)]


def when(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value:%Y-%m-%d %H:%M} UTC" if with_time else f"{value:%Y-%m-%d}"


@cache
def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("service.ui", "templates"), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["day"] = lambda value: when(value, with_time=False)
    env.globals["version"] = __version__
    return Jinja2Templates(env=env)


def store_cookie(response: Response, request: Request, visit: Visit, session: UiSession) -> None:
    response.set_cookie(
        cookie.COOKIE, cookie.encode(session, ui_secret(visit.state)), path="/ui", httponly=True, samesite="strict",
        secure=request.url.scheme == "https", max_age=int(visit.state.settings.ui_session_hours * 3600),
    )


def finish(response: Response, request: Request, visit: Visit, session: UiSession | None = None) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if session is not None:
        store_cookie(response, request, visit, session)
    elif visit.set_cookie:
        store_cookie(response, request, visit, visit.session)
    return response


def render(request: Request, visit: Visit, name: str, context: dict[str, Any], status: int = 200) -> Response:
    base = {"caller": visit.caller, "can_write": visit.can_write, "csrf": visit.session.csrf, "csrf_field": cookie.CSRF_FIELD}
    response: HTMLResponse = templates().TemplateResponse(request, name, {**base, **context}, status_code=status)
    return finish(response, request, visit)


def redirect(request: Request, visit: Visit, url: str, session: UiSession | None = None) -> Response:
    return finish(RedirectResponse(url, status_code=303), request, visit, session)


def sign_in_first(request: Request, visit: Visit) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(request, visit, "/ui/login?" + urlencode({"next": safe_next(target)}))


def safe_next(target: str | None) -> str:
    """Only a path of this page: never another site (an open redirect)."""
    if target and target.startswith("/ui/") and not any(ch in target for ch in "\\\r\n\t "):
        return target
    return "/ui/search"


def card_context(visit: Visit, client_id: str, now: datetime) -> dict[str, object]:
    state = visit.state
    with state.db.reader() as session:
        context = views.card(session, state.cache, client_id, now, state.settings.degraded_policy)
        context["summaries"] = {e.seq: views.event_summary(e) for e in context["events"]}
        context.update(campaign_views.card(session, state.cache, client_id, now))
        return context


DONE = {
    "signature": "Paper signature recorded.",
    "override": "Override granted.",
    "grace": "Grace period extended.",
    "link-sent": "Signing link sent.",
    "usage": "Use recorded.",
    "allowance-grant": "Block of prepaid units granted.",
}


def form_refusal(request: Request, visit: Visit, form: FormData, scope: str) -> Response | None:
    """Why a posted form changes nothing (not signed in, no CSRF token, no scope), or None when it may."""
    if visit.caller is None:
        return sign_in_first(request, visit)
    if not cookie.csrf_ok(visit.session, str(form.get(cookie.CSRF_FIELD) or "")):
        return render(request, visit, "refused.html", {"reason": "csrf"}, status=403)
    if not visit.caller.has(scope):
        return render(request, visit, "refused.html", {"reason": "scope", "scope": scope}, status=403)
    return None


async def refused_change(
    request: Request, visit: Visit, session: Session, now: datetime, client_id: str, error: ServiceError
) -> Response:
    """A change to a client the service refused: rolled back; an unknown client is a 404, else the card says why."""
    session.rollback()
    if isinstance(error, NotFound):
        return render(request, visit, "refused.html", {"reason": "not-found"}, status=404)
    return await run_in_threadpool(card_with_error, request, visit, now, client_id, error)


def card_with_error(request: Request, visit: Visit, now: datetime, client_id: str, error: ServiceError) -> Response:
    """The card again, with what went wrong (nothing was saved)."""
    context = card_context(visit, client_id, now)
    return render(request, visit, "card.html", {**context, "done": None, "error": error.detail, "now": now},
                  status=error.http_status)
