"""The web page's read side: sign-in, search as you type, the client card, the coverage dashboard."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from service.api.deps import NowDep, caller_for_key_hash
from service.errors import NotFound, Unauthorized
from service.ui import campaign_views, views
from service.ui import session as cookie
from service.ui.actions import router as actions_router
from service.ui.allowance_actions import router as allowance_actions_router
from service.ui.campaign_actions import router as campaign_actions_router
from service.ui.web import DONE, READ_SCOPE, VisitDep, card_context, finish, redirect, render, safe_next, sign_in_first
from service.usecases import campaign, ui_sessions
from service.usecases.keys import hash_key

router = APIRouter(prefix="/ui", include_in_schema=False)
router.include_router(actions_router)
router.include_router(campaign_actions_router)
router.include_router(allowance_actions_router)

STATIC = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8"}


@router.get("")
@router.get("/")
async def home(request: Request, visit: VisitDep) -> Response:
    return redirect(request, visit, "/ui/search" if visit.caller else "/ui/login")


@router.get("/login")
async def login_page(request: Request, visit: VisitDep, next: str | None = None) -> Response:
    return render(request, visit, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request, visit: VisitDep, now: NowDep) -> Response:
    form = await request.form()
    target = safe_next(str(form.get("next") or ""))
    if not cookie.csrf_ok(visit.session, str(form.get(cookie.CSRF_FIELD) or "")):
        return render(request, visit, "refused.html", {"reason": "csrf"}, status=403)
    key = str(form.get("api_key") or "").strip()
    error, status = None, 200
    if not key:
        error, status = "Paste your API key.", 422
    else:
        try:
            caller = await caller_for_key_hash(hash_key(key), visit.state, now)
        except Unauthorized:
            error, status = "This key was refused: unknown, revoked or expired.", 401
        else:
            if not caller.has(READ_SCOPE):
                error, status = f"The key “{caller.name}” lacks the {READ_SCOPE} scope this page needs.", 403
            else:
                session_id = await run_in_threadpool(ui_sessions.start, visit.state.db, hash_key(key), caller.name, now)
                return redirect(request, visit, target, visit.session.signed_in(hash_key(key), now, session_id))
    return render(request, visit, "login.html", {"next": target, "error": error}, status=status)


@router.post("/logout")
async def logout(request: Request, visit: VisitDep, now: NowDep) -> Response:
    form = await request.form()
    if not cookie.csrf_ok(visit.session, str(form.get(cookie.CSRF_FIELD) or "")):
        return render(request, visit, "refused.html", {"reason": "csrf"}, status=403)
    actor = visit.caller.name if visit.caller else "ui"
    await run_in_threadpool(ui_sessions.end, visit.state.db, visit.session.session_id, actor, now)
    return redirect(request, visit, "/ui/login", cookie.UiSession.anonymous())


def _search(visit: VisitDep, q: str, now: NowDep) -> list[dict[str, object]]:
    state = visit.state
    with state.db.reader() as session:
        return views.search(session, state.cache, q, state.settings.default_region, now)


@router.get("/search")
async def search_page(request: Request, visit: VisitDep, now: NowDep, q: str = "") -> Response:
    if visit.caller is None:
        return sign_in_first(request, visit)
    results = await run_in_threadpool(_search, visit, q[:200], now)
    return render(request, visit, "search.html", {"q": q[:200], "results": results})


@router.get("/search/results")
async def search_results(request: Request, visit: VisitDep, now: NowDep, q: str = "") -> Response:
    """The result list alone, fetched by the page's script as the technician types."""
    if visit.caller is None:
        return finish(Response(status_code=401), request, visit)
    results = await run_in_threadpool(_search, visit, q[:200], now)
    return render(request, visit, "_results.html", {"q": q[:200], "results": results})


@router.get("/clients/{client_id}")
async def client_card(request: Request, visit: VisitDep, now: NowDep, client_id: str, done: str = "") -> Response:
    if visit.caller is None:
        return sign_in_first(request, visit)
    try:
        context = await run_in_threadpool(card_context, visit, client_id, now)
    except NotFound:
        return render(request, visit, "refused.html", {"reason": "not-found"}, status=404)
    return render(request, visit, "card.html", {**context, "done": DONE.get(done), "error": None, "now": now})


def _dashboard(visit: VisitDep, now: NowDep) -> dict[str, object]:
    with visit.state.db.reader() as session:
        return {**views.dashboard(session, visit.state, now), **campaign_views.dashboard(session, visit.state.cache, now)}


@router.get("/dashboard")
async def dashboard(request: Request, visit: VisitDep, now: NowDep) -> Response:
    if visit.caller is None:
        return sign_in_first(request, visit)
    context = await run_in_threadpool(_dashboard, visit, now)
    return render(request, visit, "dashboard.html", {**context, "now": now, "labels": views.STATUS_LABELS})


def _csv(visit: VisitDep, now: NowDep) -> str:
    with visit.state.db.reader() as session:
        items = campaign.all_clients_to_chase(session, visit.state.cache.catalog(), now, statuses=list(campaign.TO_CHASE))
        return "".join(campaign.csv_lines(items))


@router.get("/dashboard/clients-to-chase.csv")
async def clients_to_chase_csv(request: Request, visit: VisitDep, now: NowDep) -> Response:
    """The same CSV as GET /v1/reports/unsigned?format=csv, for a signed-in browser (which has no API key header)."""
    if visit.caller is None:
        return sign_in_first(request, visit)
    text = await run_in_threadpool(_csv, visit, now)
    response = Response(text, media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="clients-to-chase.csv"'})
    return finish(response, request, visit)


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    body = (resources.files("service.ui") / "static" / name).read_bytes()
    return Response(body, media_type=STATIC[name], headers={"cache-control": "public, max-age=300"})
