"""The web page's write side (clients:write): paper signature, time-boxed override, grace extension.

Every form carries the session's CSRF token; a post without it changes nothing. The request's
unit of work (SessionDep) commits after the route returns; a refused change is rolled back and the
card is shown again with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from service.api.deps import NowDep, SessionDep
from service.domain.contract import current_version
from service.errors import InvalidInput, ServiceError
from service.text import control_character_in
from service.timebounds import check_bounds
from service.ui.web import WRITE_SCOPE, Visit, VisitDep, form_refusal, redirect, refused_change
from service.usecases import records

router = APIRouter()
MAX_OVERRIDE_HOURS = 24 * 90


def _text(form: FormData, name: str, *, required: str | None = None, max_length: int = 300) -> str:
    value = str(form.get(name) or "").strip()
    if control_character_in(value, multi_line=name == "reason"):
        raise InvalidInput(f"{name.replace('_', ' ')} holds a control character")
    if required and not value:
        raise InvalidInput(required)
    if len(value) > max_length:
        raise InvalidInput(f"{name.replace('_', ' ')} is longer than {max_length} characters")
    return value


def _date(form: FormData, name: str, label: str) -> date:
    try:
        value = date.fromisoformat(_text(form, name, required=f"choose the {label}"))
    except ValueError:
        raise InvalidInput(f"the {label} is not a date") from None
    check_bounds(datetime.combine(value, time(0), UTC), f"the {label}")  # the API's range, so the day after exists too
    return value


async def _act(
    request: Request, visit: Visit, session: Session, now: datetime, client_id: str,
    change: Callable[[FormData], object], done: str,
) -> Response:
    form = await request.form()
    refused = form_refusal(request, visit, form, WRITE_SCOPE)
    if refused is not None:
        return refused
    try:
        await run_in_threadpool(change, form)
    except ServiceError as exc:
        return await refused_change(request, visit, session, now, client_id, exc)
    # See-other to the card: a reload does not post twice, and the card is read after the commit.
    return redirect(request, visit, f"/ui/clients/{client_id}?done={done}")


@router.post("/clients/{client_id}/signature")
async def record_paper_signature(
    request: Request, visit: VisitDep, session: SessionDep, now: NowDep, client_id: str
) -> Response:
    def change(form: FormData) -> object:
        signed_on = _date(form, "signed_on", "signing date")
        # Signed today = now; an earlier day = noon UTC that day (the paper carries no time).
        signed_at = now if signed_on == now.date() else datetime.combine(signed_on, time(12), UTC)
        name = _text(form, "signer_name", required="name the person who signed")
        email = _text(form, "signer_email", max_length=320) or None
        return records.record_acceptance(
            session, client_id, contract_version=_text(form, "contract_version", required="choose the contract version"),
            decision="signed", method="paper", signer_name=name, signer_email=email, signed_at=signed_at,
            actor=visit.caller.name if visit.caller else "", now=now,
        )

    return await _act(request, visit, session, now, client_id, change, "signature")


@router.post("/clients/{client_id}/override")
async def grant_override(request: Request, visit: VisitDep, session: SessionDep, now: NowDep, client_id: str) -> Response:
    def change(form: FormData) -> object:
        try:
            hours = int(_text(form, "hours", required="say for how many hours"))
        except ValueError:
            raise InvalidInput("the duration is a whole number of hours") from None
        if not 1 <= hours <= MAX_OVERRIDE_HOURS:
            raise InvalidInput(f"an override lasts between 1 and {MAX_OVERRIDE_HOURS} hours")
        return records.grant_override(
            session, client_id, service=_text(form, "service", required="choose the service"),
            expires_at=now + timedelta(hours=hours), reason=_text(form, "reason", required="give a reason", max_length=1000),
            actor=visit.caller.name if visit.caller else "", now=now,
        )

    return await _act(request, visit, session, now, client_id, change, "override")


@router.post("/clients/{client_id}/grace")
async def extend_grace(request: Request, visit: VisitDep, session: SessionDep, now: NowDep, client_id: str) -> Response:
    def change(form: FormData) -> object:
        # The deadline falls at the end of the chosen day (UTC).
        until = datetime.combine(_date(form, "until", "new deadline") + timedelta(days=1), time(0), UTC)
        version = current_version(visit.state.cache.catalog().versions, now)
        return records.extend_grace(
            session, client_id, until=until, current_version=version.version if version else None,
            actor=visit.caller.name if visit.caller else "", now=now,
        )

    return await _act(request, visit, session, now, client_id, change, "grace")
