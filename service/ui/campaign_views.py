"""What the web page shows of campaigns: the dashboard's list and form, the card's steps and links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.cache import StateCache
from service.domain import campaign as rules
from service.storage import campaigns as store
from service.usecases import campaigns as uc
from service.usecases.signing_links import list_signing_links

STATUS_TEXT = {
    "waiting": "waiting", "sent": "sent", "opened": "opened the link", "signed": "signed", "declined": "declined",
    "bounced": "bounced — call them", "unsubscribed": "muted the reminders",
}


def dashboard(session: Session, cache: StateCache, now: datetime) -> dict[str, Any]:
    catalog = cache.catalog()
    campaigns = [(row, uc.counts(uc.recipients(session, catalog, row, now))) for row in store.page(session, limit=20, after=None)]
    versions = [v.version for v in sorted(catalog.versions, key=lambda v: v.published_at or now, reverse=True)
                if v.published_at is not None and v.published_at <= now]
    return {"campaigns": campaigns, "campaign_versions": versions,
            "default_reminder_days": ", ".join(str(d) for d in rules.DEFAULT_REMINDER_DAYS)}


def card(session: Session, cache: StateCache, client_id: str, now: datetime) -> dict[str, Any]:
    found = uc.client_campaigns(session, cache.catalog(), client_id, now)
    links = list_signing_links(session, client_id, now=now, limit=10, before=None)
    return {"client_campaigns": found, "signing_links": links, "campaign_status_text": STATUS_TEXT,
            "has_email": bool(store.client_emails(session, client_id))}


def first_target(session: Session, cache: StateCache, contract_version: str, now: datetime) -> str | None:
    """A client the new campaign would write to, for the preview (None: nobody to write to)."""
    catalog = cache.catalog()
    if rules.campaign_version(catalog, contract_version) is None:
        return None
    campaign = rules.CampaignRules(contract_version, rules.DEFAULT_REMINDER_DAYS, False, now)
    first = next(uc.targets(session, catalog, campaign, now, batch=200), None)
    return first[0].id if first else None
