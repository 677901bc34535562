"""The campaign's letters: sandboxed Jinja2 templates, the shipped wording, and the headers of each message."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import ChainableUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from service.domain.campaign import INITIAL, is_reminder
from service.errors import InvalidInput
from service.usecases.campaign_letters import DEFAULT_HTML, DEFAULT_SUBJECT, DEFAULT_TEXT

VARIABLES = ("client_name", "contract_title", "contract_version", "signing_url", "grace_until", "days_left", "sender_name")

RENDER_ERRORS = (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError, RecursionError)

# Undefined names (and attributes of them) render as "": a typo in a template never stops a campaign.
_TEXT = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=True, keep_trailing_newline=True)
_FIELDS = {"subject_template": _TEXT, "text_template": _TEXT, "html_template": _HTML}


@dataclass(frozen=True, slots=True)
class Letter:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class Templates:
    subject: str | None = None
    text: str | None = None
    html: str | None = None


def sample_values() -> dict[str, Any]:
    return {
        "client_name": "Acme Dental", "contract_title": "Service contract", "contract_version": "2026.1",
        "signing_url": "https://support.example/sign/sample", "grace_until": "15 January 2027", "days_left": 14,
        "sender_name": "The support team", "step": INITIAL, "deadline_passed": False,
    }


def check_templates(templates: Templates) -> None:
    """422 for a template that does not compile, or that fails on sample values (the error names the field)."""
    for field, source in (("subject_template", templates.subject), ("text_template", templates.text),
                          ("html_template", templates.html)):
        if source is None:
            continue
        env = _FIELDS[field]
        try:
            template = env.from_string(source)
        except TemplateSyntaxError as exc:
            raise InvalidInput(f"{field} does not compile: {exc.message} (line {exc.lineno})",
                               errors=[{"loc": ["body", field], "msg": f"line {exc.lineno}: {exc.message}"}]) from None
        try:
            template.render(sample_values())
        except RENDER_ERRORS as exc:
            raise InvalidInput(f"{field} fails to render: {exc}",
                               errors=[{"loc": ["body", field], "msg": str(exc)[:300]}]) from None


@lru_cache(maxsize=64)
def _compiled(html: bool, source: str) -> Template:
    # Compiling costs milliseconds; a campaign renders the same few sources for every client.
    return (_HTML if html else _TEXT).from_string(source)


def render(templates: Templates, values: dict[str, Any]) -> Letter:
    """The letter for one client and step; a subject is one line."""
    try:
        subject = _compiled(False, templates.subject or DEFAULT_SUBJECT).render(values)
        text = _compiled(False, templates.text or DEFAULT_TEXT).render(values)
        html = _compiled(True, templates.html or DEFAULT_HTML).render(values)
    except RENDER_ERRORS as exc:
        # A template that compiles can still fail on one client's values (the scheduler logs and skips it).
        raise InvalidInput(f"the campaign's template fails for this client: {exc}"[:500]) from None
    return Letter(" ".join(subject.split())[:300], text, html)


def letter_values(
    *, client_name: str, contract_title: str, contract_version: str, signing_url: str, deadline: datetime,
    days_left: int, sender_name: str, step: str, now: datetime,
) -> dict[str, Any]:
    return {"deadline_passed": deadline <= now,
        "client_name": client_name, "contract_title": contract_title, "contract_version": contract_version,
        "signing_url": signing_url, "grace_until": f"{deadline:%d %B %Y}".lstrip("0"), "days_left": days_left,
        "sender_name": sender_name, "step": step,
    }


def sender_name(from_address: str | None, default: str = "The support team") -> str:
    name, _ = parseaddr(from_address or "")
    return name or default


def message_id(public_url: str, campaign_id: str, client_id: str, step: str) -> str:
    """Stable per (campaign, client, step): the same message queued twice is the same message."""
    host = urlsplit(public_url).hostname or "supportgate.invalid"
    return f"<{campaign_id}.{client_id}.{step}@{host}>"


def headers(
    *, campaign_id: str, step: str, public_url: str, unsubscribe_token: str | None, reply_to: str | None,
    from_address: str | None,
) -> dict[str, str]:
    found = {"X-Supportgate-Campaign": campaign_id}
    if from_address:
        found["From"] = from_address
    if reply_to:
        found["Reply-To"] = reply_to
    if is_reminder(step) and unsubscribe_token:
        # RFC 8058 one-click: a mail client POSTs "List-Unsubscribe=One-Click" to this URL.
        found["List-Unsubscribe"] = f"<{public_url.rstrip('/')}/u/{unsubscribe_token}>"
        found["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return found


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
