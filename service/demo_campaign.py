"""The demo's rollout: the 2026.1 contract document, and a running campaign whose first mail lands in ./mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.settings import Settings
from service.storage.database import Database
from service.usecases import campaigns
from service.usecases import catalog as catalog_uc
from service.usecases.campaign_mail import Templates
from service.usecases.campaign_scheduler import policy_of, run_pass
from service.usecases.contract_documents import upload_document
from service.usecases.mail import deliver_due_mail

ACTOR = "demo"

DOCUMENT_2026 = b"""# Service contract 2026 (terms of service + SLA)

**Between** Demo Integrators LLC ("we") **and** the client named on the signing page ("you").

## 1. What we do
- **Triage, 24/7, for everyone.** Call or write at any hour; we look at the problem and tell you what it takes.
- **Remote support, advanced support and on-site visits** for clients who have signed this contract.
- **Priority support, proactive monitoring and priority on-site** for members of a plan (Silver, Gold).

## 2. How fast we answer (SLA)
| | first response | on-site |
|---|---|---|
| no plan | 4 hours | 72 hours |
| Silver | 2 hours | 48 hours |
| Gold | 30 minutes | 8 hours |

## 3. Price
Signing this contract is free. Work outside a plan is billed at the rates on our website.

## 4. Term
This contract runs for one year from your signature and can be ended by either side with 30 days' notice.
"""


def add_document(session: Session, version: str, now: datetime) -> None:
    """Store the 2026.1 document on the draft (its SHA-256 is the version's document_sha256)."""
    upload_document(session, version=version, content_type="text/markdown", body=DOCUMENT_2026, actor=ACTOR, now=now)


def start_campaign(session: Session, settings: Settings, version: str, now: datetime) -> str:
    row = campaigns.create_campaign(
        session, contract_version=version, name="Contract 2026 rollout (demo)", reminder_days=None, include_declined=False,
        from_address=None, reply_to=None, templates=Templates(), actor=ACTOR, now=now,
    )
    catalog = catalog_uc.load_catalog(session, policy_of(settings))
    campaigns.move(session, catalog, row.id, "start", actor=ACTOR, now=now)
    return row.id


def send_first_messages(db: Database, settings: Settings, now: datetime) -> int:
    """The scheduler's first pass right away, so the mail is in the folder before the server starts."""
    queued = run_pass(db, settings, now)
    deliver_due_mail(db, settings, now)
    return queued
