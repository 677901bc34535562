"""The web page's campaign actions: start (with a preview of the mail), pause, resume; a signing link now.

Campaign actions need the admin scope, signing links clients:write; every form carries the CSRF token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from service.api.deps import NowDep, SessionDep
from service.domain import campaign as rules
from service.errors import InvalidInput, NotFound, ServiceError
from service.ui.web import (
    WRITE_SCOPE,
    Visit,
    VisitDep,
    card_context,
    form_refusal,
    redirect,
    refused_change,
    render,
)
from service.usecases import campaign_links, clients, contracts
from service.usecases import campaigns as uc
from service.usecases.campaign_mail import Templates

router = APIRouter()
ADMIN = "admin"


def _fields(form: FormData) -> dict[str, Any]:
    return {
        "contract_version": str(form.get("contract_version") or "").strip(),
        "name": str(form.get("name") or "").strip()[:200],
        "reminder_days": str(form.get("reminder_days") or "").strip()[:200],
        "include_declined": form.get("include_declined") == "yes",
    }


def _preview(session: Session, visit: Visit, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    state = visit.state
    catalog = state.cache.catalog()
    version = contracts.get_version(session, fields["contract_version"])
    if version is None or rules.campaign_version(catalog, version.version) is None:
        raise InvalidInput("choose a published contract version")
    rules.normalise_reminder_days(_days_from(fields))
    client_id = uc.first_target(session, catalog, version.version, now)
    if client_id is None:
        return {"letter": None, "client_name": None}
    client = clients.client_state(session, client_id)
    assert client is not None
    url = f"{state.settings.public_url.rstrip('/')}/sign/…"
    letter = uc.compose(Templates(), None, version, client, catalog, state.settings, step=rules.INITIAL, signing_url=url, now=now)
    return {"letter": letter, "client_name": client.name}


def _days_from(fields: dict[str, Any]) -> list[int]:
    try:
        return [int(p) for p in str(fields["reminder_days"]).replace(";", ",").split(",") if p.strip()]
    except ValueError:
        raise InvalidInput("reminder days are whole numbers separated by commas, e.g. 14, 7, 2, 0") from None


@router.post("/campaigns")
async def start_campaign(request: Request, visit: VisitDep, session: SessionDep, now: NowDep) -> Response:
    form = await request.form()
    refused = form_refusal(request, visit, form, ADMIN)
    if refused is not None:
        return refused
    fields = _fields(form)
    try:
        if form.get("do") != "start":
            context = await run_in_threadpool(_preview, session, visit, fields, now)
            return render(request, visit, "campaign_preview.html", {**context, "fields": fields, "error": None})

        def create() -> None:
            caller = visit.caller.name if visit.caller else ""
            row = uc.create_campaign(
                session, contract_version=fields["contract_version"], name=fields["name"] or None,
                reminder_days=_days_from(fields), include_declined=fields["include_declined"], from_address=None,
                reply_to=None, templates=Templates(), actor=caller, now=now,
            )
            uc.move(session, visit.state.cache.catalog(), row.id, "start", actor=caller, now=now)

        await run_in_threadpool(create)
    except (ServiceError, ValueError) as exc:
        session.rollback()
        detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
        status = exc.http_status if isinstance(exc, ServiceError) else 422
        return render(request, visit, "campaign_preview.html",
                      {"letter": None, "client_name": None, "fields": fields, "error": detail}, status=status)
    return redirect(request, visit, "/ui/dashboard#campaigns")


@router.post("/campaigns/{campaign_id}/{action}")
async def move_campaign(request: Request, visit: VisitDep, session: SessionDep, now: NowDep, campaign_id: str,
                        action: str) -> Response:
    form = await request.form()
    refused = form_refusal(request, visit, form, ADMIN)
    if refused is not None:
        return refused
    if action not in ("pause", "resume"):
        return render(request, visit, "refused.html", {"reason": "not-found"}, status=404)
    try:
        await run_in_threadpool(uc.move, session, visit.state.cache.catalog(), campaign_id, action,
                                actor=visit.caller.name if visit.caller else "", now=now)
    except NotFound:
        session.rollback()
        return render(request, visit, "refused.html", {"reason": "not-found"}, status=404)
    except ServiceError:
        session.rollback()  # e.g. pausing a finished campaign: the dashboard shows its state
    return redirect(request, visit, "/ui/dashboard#campaigns")


@router.post("/clients/{client_id}/signing-link")
async def signing_link(request: Request, visit: VisitDep, session: SessionDep, now: NowDep, client_id: str) -> Response:
    """do=send mails a fresh link now; do=copy shows a fresh link on the card, once, to copy."""
    form = await request.form()
    refused = form_refusal(request, visit, form, WRITE_SCOPE)
    if refused is not None:
        return refused
    state = visit.state
    actor = visit.caller.name if visit.caller else ""
    email = str(form.get("email") or "").strip() or None
    try:
        if form.get("do") == "copy":
            _link, url = await run_in_threadpool(lambda: campaign_links.copy_link(
                session, state.cache.catalog(), state.settings, client_id=client_id, email=email, actor=actor, now=now))
        else:
            await run_in_threadpool(lambda: campaign_links.send_link_now(
                session, state.cache.catalog(), state.settings, client_id=client_id, email=email, actor=actor, now=now))
            url = None
    except ServiceError as exc:
        return await refused_change(request, visit, session, now, client_id, exc)
    if url is None:
        return redirect(request, visit, f"/ui/clients/{client_id}?done=link-sent")
    # The link holds its token: shown in this answer only, never in a URL of ours or a log. Committed first.
    session.commit()
    context = await run_in_threadpool(card_context, visit, client_id, now)
    return render(request, visit, "card.html", {**context, "done": "A new signing link is below: copy it now, it is shown once.",
                                                "error": None, "now": now, "new_link_url": url})
