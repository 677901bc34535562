"""The client card's allowance actions (clients:write): record a use, grant a block of prepaid units.

Same rules as service.ui.actions: the session's CSRF token on every form, the request's unit of
work commits after the route returns, a refused change (say, ALLOWANCE_EXHAUSTED) is rolled back
and the card shown again with the reason. The use form carries an idempotency key made when the
card was drawn, so a double click or a resent form records one use.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from service.api.deps import NowDep, SessionDep
from service.errors import InvalidInput
from service.ui.actions import _act, _date, _text
from service.ui.web import VisitDep
from service.usecases import allowances

router = APIRouter()
UNITS = ("incidents", "hours", "visits")


@router.post("/clients/{client_id}/usage")
async def record_use(request: Request, visit: VisitDep, session: SessionDep, now: NowDep, client_id: str) -> Response:
    def change(form: FormData) -> object:
        return allowances.record_use(
            session, visit.state.cache.catalog(), client_id, service=_text(form, "service", required="choose the service"),
            units=_text(form, "units", required="say how many units", max_length=16),
            idempotency_key=_text(form, "idempotency_key", required="the form lost its key; reload the card", max_length=200),
            ticket_ref=_text(form, "ticket_ref", max_length=200) or None, at=None,
            actor=visit.caller.name if visit.caller else "", now=now,
        )

    return await _act(request, visit, session, now, client_id, change, "usage")


@router.post("/clients/{client_id}/allowance-grant")
async def grant_block(request: Request, visit: VisitDep, session: SessionDep, now: NowDep, client_id: str) -> Response:
    def change(form: FormData) -> object:
        unit = _text(form, "unit", required="choose the unit")
        if unit not in UNITS:
            raise InvalidInput(f"the unit is one of {', '.join(UNITS)}")
        expires_at = None
        if _text(form, "expires_on"):  # the block runs to the end of the chosen day (UTC)
            expires_at = datetime.combine(_date(form, "expires_on", "expiry date") + timedelta(days=1), time(0), UTC)
        return allowances.grant_block(
            session, visit.state.cache.catalog(), client_id, service=_text(form, "service", required="choose the service"),
            unit=unit, amount=_text(form, "amount", required="say how many units", max_length=16), expires_at=expires_at,
            reason=_text(form, "reason", required="give a reason", max_length=1000),
            actor=visit.caller.name if visit.caller else "", now=now,
        )

    return await _act(request, visit, session, now, client_id, change, "allowance-grant")
