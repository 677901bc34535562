"""Contract campaigns (admin; reads also clients:read) and the one-click unsubscribe of their reminders."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from starlette import status

from service.api.deps import Admin, CacheDep, CatalogReader, NowDep, ReadSessionDep, SessionDep, SettingsDep
from service.api.paging import Cursor, Keyset, Limit
from service.api.routes.clients import WRITE_ERRORS
from service.api.schemas.campaigns import CampaignIn, CampaignOut, CampaignPage, LetterOut, PreviewIn, RecipientOut, RecipientPage
from service.errors import NotFound
from service.usecases import campaigns as uc
from service.usecases.campaign_mail import Templates

router = APIRouter(tags=["campaigns"])
CampaignId = Path(min_length=1, max_length=40)
TokenPath = Path(min_length=1, max_length=200)
CAMPAIGNS = Keyset("campaigns", datetime, str)
RECIPIENTS = Keyset("campaign-recipients", str, str)
ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS, 409: {**WRITE_ERRORS[409], "description": "Not possible in the campaign's state"},
}


def _out(session: Any, cache: Any, row: Any, now: Any) -> CampaignOut:
    return CampaignOut.from_row(row, uc.counts(uc.recipients(session, cache.catalog(), row, now)))


@router.post("/v1/campaigns", status_code=status.HTTP_201_CREATED, response_model=CampaignOut,
             summary="Create a campaign (a draft) for one contract version", responses=ERRORS)
def create_campaign(body: CampaignIn, session: SessionDep, caller: Admin, cache: CacheDep, now: NowDep) -> CampaignOut:
    row = uc.create_campaign(
        session, contract_version=body.contract_version, name=body.name, reminder_days=body.reminder_days,
        include_declined=body.include_declined, from_address=body.from_address, reply_to=body.reply_to,
        templates=Templates(body.subject_template, body.text_template, body.html_template), actor=caller.name, now=now,
    )
    return _out(session, cache, row, now)


def _move(action: str, session: Any, caller: Any, cache: Any, now: Any, campaign_id: str) -> CampaignOut:
    row = uc.move(session, cache.catalog(), campaign_id, action, actor=caller.name, now=now)
    return _out(session, cache, row, now)


@router.post("/v1/campaigns/{campaign_id}/start", response_model=CampaignOut, responses=ERRORS,
             summary="Start: the first messages go out at the scheduler's next pass, reminders follow")
def start_campaign(session: SessionDep, caller: Admin, cache: CacheDep, now: NowDep, campaign_id: str = CampaignId) -> CampaignOut:
    return _move("start", session, caller, cache, now, campaign_id)


@router.post("/v1/campaigns/{campaign_id}/pause", response_model=CampaignOut, responses=ERRORS,
             summary="Pause: nothing is sent until resumed")
def pause_campaign(session: SessionDep, caller: Admin, cache: CacheDep, now: NowDep, campaign_id: str = CampaignId) -> CampaignOut:
    return _move("pause", session, caller, cache, now, campaign_id)


@router.post("/v1/campaigns/{campaign_id}/resume", response_model=CampaignOut, responses=ERRORS,
             summary="Resume a paused campaign (reminders whose day passed meanwhile are not sent late)")
def resume_campaign(session: SessionDep, caller: Admin, cache: CacheDep, now: NowDep, campaign_id: str = CampaignId) -> CampaignOut:
    return _move("resume", session, caller, cache, now, campaign_id)


@router.get("/v1/campaigns", response_model=CampaignPage, summary="Every campaign, newest first, with its counts",
            responses=WRITE_ERRORS)
def list_campaigns(session: ReadSessionDep, caller: CatalogReader, cache: CacheDep, now: NowDep,
                   limit: int = Limit, cursor: str | None = Cursor) -> dict[str, Any]:
    after = CAMPAIGNS.read(cursor)
    rows = list(uc.campaign_page(session, limit=limit + 1, after=(after[0], after[1]) if after else None))
    page, next_cursor = CAMPAIGNS.page(rows, limit, lambda r: (r.created_at, r.id))
    return {"items": [_out(session, cache, r, now) for r in page], "next_cursor": next_cursor}


@router.get("/v1/campaigns/{campaign_id}", response_model=CampaignOut, summary="One campaign with its counts",
            responses=WRITE_ERRORS)
def get_campaign(session: ReadSessionDep, caller: CatalogReader, cache: CacheDep, now: NowDep,
                 campaign_id: str = CampaignId) -> CampaignOut:
    return _out(session, cache, uc.get_row(session, campaign_id), now)


@router.get("/v1/campaigns/{campaign_id}/recipients", response_model=RecipientPage, responses=WRITE_ERRORS,
            summary="Where each targeted client stands, with its steps (due, sent, Message-ID)")
def campaign_recipients(
    session: ReadSessionDep, caller: CatalogReader, cache: CacheDep, now: NowDep, campaign_id: str = CampaignId,
    status: Literal["waiting", "sent", "opened", "signed", "declined", "bounced", "unsubscribed"] | None = Query(None),
    limit: int = Limit, cursor: str | None = Cursor,
) -> dict[str, Any]:
    row = uc.get_row(session, campaign_id)
    views = [v for v in uc.recipients(session, cache.catalog(), row, now) if status is None or v.status == status]
    page, next_cursor = RECIPIENTS.page_in_memory(views, limit, cursor, lambda v: (v.client_name.lower(), v.client_id))
    return {"items": [RecipientOut.from_view(v) for v in page], "next_cursor": next_cursor}


@router.post("/v1/campaigns/{campaign_id}/preview", response_model=LetterOut, responses=WRITE_ERRORS,
             summary="The first message one client would get (the link is a placeholder); nothing is sent")
def preview_campaign(body: PreviewIn, session: ReadSessionDep, caller: Admin, cache: CacheDep, settings: SettingsDep,
                     now: NowDep, campaign_id: str = CampaignId) -> LetterOut:
    letter = uc.preview(session, cache.catalog(), settings, campaign_id, body.client_id, now)
    return LetterOut(subject=letter.subject, text=letter.text, html=letter.html)


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head><body style="font-family: sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em">
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""


@router.get("/u/{token}", response_class=HTMLResponse, summary="The unsubscribe page: a button that POSTs (a GET never mutes)")
def unsubscribe_page(token: str = TokenPath) -> HTMLResponse:
    # RFC 8058: a GET (a link scanner) must not unsubscribe; the page offers the button.
    form = (f'<form method="post" action="/u/{escape(token)}"><input type="hidden" name="List-Unsubscribe" '
            'value="One-Click"><button type="submit">Stop the reminders</button></form>')
    return HTMLResponse(_PAGE.format(title="Stop the reminders?", form=form, text=(
        "You will get no more reminders of this campaign. Your signing link keeps working, and the contract "
        "still applies: advanced support needs it signed by the deadline.")))


@router.post("/u/{token}", response_class=HTMLResponse, summary="One-click unsubscribe (RFC 8058): mutes the campaign's reminders",
             responses={404: {"description": "Unknown link"}})
def unsubscribe(session: SessionDep, now: NowDep, token: str = TokenPath) -> HTMLResponse:
    if not uc.unsubscribe(session, token, now):
        raise NotFound("unknown unsubscribe link")
    return HTMLResponse(_PAGE.format(title="Reminders stopped", form="", text=(
        "You will get no more reminders of this campaign. The contract still applies: you can sign it any time "
        "with the link in the first message.")))
