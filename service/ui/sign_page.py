"""The signing page behind a signing link (/sign/{token}): no API key, the token is the credential."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.api.deps import AppState, NowDep, ReadSessionDep, SessionDep, StateDep
from service.api.schemas.common import Problem
from service.api.schemas.signing import SigningReceiptOut
from service.contract_render import render_document
from service.domain.signing import ACCEPT_BUTTON, CONSENT_TEXT, DECLINE_BUTTON, SigningForm
from service.errors import Gone, NotFound, RateLimited
from service.ratelimit import retry_after_header
from service.storage import tables as t
from service.ui.web import templates
from service.usecases import signing as uc
from service.usecases.contract_documents import PDF, has_document, is_text
from service.usecases.signing_links import link_for_token, link_status

router = APIRouter(tags=["signing page"])
TokenPath = Path(min_length=1, max_length=200)
# Guessing tokens: more than 10 unknown ones a minute from one address is refused (429). A real
# link is limited per token, and never below 60 requests a minute.
UNKNOWN_PER_MINUTE = 10
LINK_PER_MINUTE = 120
# The pages answer their refusals as HTML pages (the receipt's JSON form as problem+json).
PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such signing link (a forged or truncated token)", "content": {"text/html": {}}},
    410: {"description": "The link was used, has expired or was revoked", "content": {"text/html": {}}},
    429: {"description": "Too many unknown tokens from this address (guessing)", "content": {"text/html": {}}},
}
RECEIPT_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": answer["description"], "content": {"text/html": {}}}
    for code, answer in PAGE_ERRORS.items()
}
HTML_200: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}, "description": "The page"}}


class MinuteBuckets:
    """Token buckets refilled at `per_minute` a minute, holding at most that many; pruned as they refill."""

    def __init__(self, per_minute: int, max_entries: int = 50_000) -> None:
        self.per_minute = per_minute
        self.max_entries = max_entries
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many addresses the buckets remember now (bounded by max_entries)."""
        with self._lock:
            return len(self._buckets)

    def take(self, name: str, now: float | None = None) -> float:
        """0 when allowed, else the seconds until the next request will be."""
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, updated = self._buckets.get(name, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - updated) * rate)
            if len(self._buckets) >= self.max_entries:
                # Under a flood of addresses keep only those being refused now (a forgotten one starts full again).
                self._buckets = {k: v for k, v in self._buckets.items() if v[0] + (now - v[1]) * rate < 1}
                if len(self._buckets) >= self.max_entries:
                    self._buckets.clear()
            if tokens >= 1:
                self._buckets[name] = (tokens - 1, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1 - tokens) / rate


def _limiter(state: AppState, name: str, per_minute: int) -> MinuteBuckets:
    found = state.extras.get(name)
    if not isinstance(found, MinuteBuckets):
        found = state.extras.setdefault(name, MinuteBuckets(per_minute))
    assert isinstance(found, MinuteBuckets)
    return found


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def open_link(session: Session, token: str, request: Request, state: AppState) -> t.SigningLink:
    """The link of the token, counted against the limits: per address for unknown tokens, per link otherwise."""
    try:
        link = link_for_token(session, token)
    except NotFound:
        wait = _limiter(state, "sign_unknown_by_ip", UNKNOWN_PER_MINUTE).take(client_ip(request))
        if wait:
            raise RateLimited("too many unknown signing links from this address; wait a minute",
                              retry_after=retry_after_header(wait)) from None
        raise
    wait = _limiter(state, "sign_by_link", LINK_PER_MINUTE).take(link.id)
    if wait:
        raise RateLimited("too many requests for this signing link; wait a moment", retry_after=retry_after_header(wait))
    return link


def csrf_for(link: t.SigningLink) -> str:
    # Keyed by the token's hash, which only the database holds: stateless, so any replica can check it.
    return hmac.new(link.token_hash.encode(), f"supportgate-sign-csrf|{link.id}".encode(), hashlib.sha256).hexdigest()


def page_headers(nonce: str) -> dict[str, str]:
    return {
        "content-security-policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; object-src 'self'; frame-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
    }


def html(name: str, context: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    body = templates().env.get_template(name).render(nonce=nonce, **context)
    return HTMLResponse(body, status_code=status, headers={**page_headers(nonce), **(headers or {})})


def message_page(status: int, heading: str, message: str, receipt_url: str | None = None,
                 headers: dict[str, str] | None = None) -> HTMLResponse:
    return html("sign_message.html", {"heading": heading, "message": message, "receipt_url": receipt_url}, status, headers)


def refusal(error: NotFound | Gone | RateLimited, token: str, link: t.SigningLink | None) -> HTMLResponse:
    if isinstance(error, RateLimited):
        return message_page(429, "Too many attempts", error.detail, headers={"retry-after": error.retry_after})
    if isinstance(error, NotFound):
        return message_page(404, "This link is not valid", "Check that the whole link was copied from the e-mail.")
    used = link is not None and link.used_at is not None and link.revoked_at is None
    return message_page(410, "This link can no longer be used", error.detail + ".",
                        receipt_url=f"/sign/{token}/receipt" if used else None)


def render_form(session: Session, token: str, now: datetime, link: t.SigningLink, form: SigningForm | None = None,
                problems: dict[str, str] | None = None) -> HTMLResponse:
    page = uc.signing_page(session, token, now)
    doc = page.document
    context = {
        "token": token, "csrf": csrf_for(link), "client_name": page.client_name, "email": link.email,
        "contract_title": page.contract_title, "contract_version": link.contract_version,
        "document_html": render_document(doc.content_type, doc.body) if doc.body is not None and is_text(doc.content_type) else None,
        "is_pdf": doc.content_type == PDF, "document_url": f"/sign/{token}/document", "external_url": doc.url,
        "document_sha256": doc.sha256, "previous_version": page.previous_version, "changes": page.changes,
        "consent_text": CONSENT_TEXT, "accept_button": ACCEPT_BUTTON, "decline_button": DECLINE_BUTTON,
        "form": form or SigningForm("", "", "", False, ""), "problems": problems or {},
    }
    return html("sign.html", context, status=422 if problems else 200)


@router.get("/sign/{token}", response_class=HTMLResponse, summary="The signing page of a signing link (no key)",
            responses={**HTML_200, **PAGE_ERRORS})
def sign_page(request: Request, session: SessionDep, state: StateDep, now: NowDep, token: str = TokenPath) -> Response:
    link = None
    try:
        link = open_link(session, token, request, state)
        return render_form(session, token, now, link)
    except (NotFound, Gone, RateLimited) as error:
        return refusal(error, token, link)


async def form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


@router.post(
    "/sign/{token}", response_class=RedirectResponse, status_code=303,
    summary="Accept or decline (form: decision, signer_name, signer_title, consent=yes, reason, csrf_token); 303 to the receipt",
    responses={303: {"description": "Recorded: see the receipt"},
               403: {"description": "Bad CSRF token: nothing recorded", "content": {"text/html": {}}},
               422: {"content": {"text/html": {}}, "description": "The form again, with what is missing; nothing recorded"},
               **PAGE_ERRORS},
    openapi_extra={"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": {k: {"type": "string"} for k in (
            "decision", "signer_name", "signer_title", "consent", "reason", "csrf_token")}}}}}},
)
def sign_submit(request: Request, fields: FormFields, session: SessionDep, state: StateDep, now: NowDep,
                token: str = TokenPath) -> Response:
    link = None
    try:
        link = open_link(session, token, request, state)
        if link_status(link, now) != "active":
            raise Gone(f"this signing link is {link_status(link, now)}")
        if not hmac.compare_digest(fields.get("csrf_token", ""), csrf_for(link)):
            return message_page(403, "Please try again", "This form has expired or did not come from the signing page. "
                                "Open the link from the e-mail again.")
        form = SigningForm.from_fields(fields)
        try:
            uc.submit(session, token, form, ip=client_ip(request), user_agent=request.headers.get("user-agent", ""), now=now,
                      public_url=state.settings.public_url)
        except uc.FormProblems as problems:
            return render_form(session, token, now, link, form, problems.problems)
        return RedirectResponse(f"/sign/{token}/receipt", status_code=303)
    except (NotFound, Gone, RateLimited) as error:
        return refusal(error, token, link)


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and not accept.lstrip().startswith("text/html")


@router.get(
    "/sign/{token}/receipt", response_model=SigningReceiptOut, summary="The receipt: HTML, or JSON for Accept: application/json",
    responses={200: {"content": {"text/html": {}}}, **RECEIPT_ERRORS},
)
def sign_receipt(request: Request, session: ReadSessionDep, state: StateDep, token: str = TokenPath) -> Response:
    link = None
    try:
        link = open_link(session, token, request, state)
        receipt = uc.receipt(session, token)
    except (NotFound, Gone, RateLimited) as error:
        if wants_json(request):
            raise
        return refusal(error, token, link)
    if wants_json(request):
        return JSONResponse(SigningReceiptOut.from_domain(receipt).model_dump(mode="json"))
    return html("sign_receipt.html", {"r": receipt, "token": token,
                                      "has_document": has_document(session, receipt.contract_version)})


@router.get("/sign/{token}/document", response_class=Response, summary="The document of a signing link (its holder's copy)",
            responses={200: {"content": {"application/pdf": {}, "text/markdown": {}, "text/html": {}}}, **PAGE_ERRORS})
def sign_document(request: Request, session: ReadSessionDep, state: StateDep, download: bool = False,
                  token: str = TokenPath) -> Response:
    link = None
    try:
        link = open_link(session, token, request, state)
        found = uc.link_document(session, token)
    except (NotFound, Gone, RateLimited) as error:
        return refusal(error, token, link)
    extension = {"application/pdf": "pdf", "text/markdown": "md", "text/html": "html"}.get(found.content_type, "bin")
    disposition = "attachment" if download or is_text(found.content_type) else "inline"
    headers = {
        "content-disposition": f'{disposition}; filename="contract-{found.version}.{extension}"',
        # Framed by the signing page only; a text document can never run as a page of this origin.
        "content-security-policy": "default-src 'none'; frame-ancestors 'self'" + ("; sandbox" if is_text(found.content_type) else ""),
        "x-frame-options": "SAMEORIGIN", "referrer-policy": "no-referrer", "x-content-sha256": found.sha256,
    }
    media = f"{found.content_type}; charset=utf-8" if is_text(found.content_type) else found.content_type
    return Response(found.body, media_type=media, headers=headers)

