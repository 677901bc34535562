"""Demo data for a newcomer: plans, a published contract and clients in every contract state."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service import demo_campaign
from service.usecases import catalog, clients, contracts, memberships, records

ACTOR = "demo"


def load_demo(session: Session, now: datetime, region: str = "US") -> bool:
    """Idempotent: does nothing when the demo contract exists already. Returns whether it loaded."""
    if contracts.get_version(session, "2026.1") is not None:
        return False
    plans = [
        ("silver", "Silver", 1, 4900, "normal", "silver", 120, 48),
        ("gold", "Gold", 2, 14900, "high", "priority", 30, 8),
    ]
    for code, name, rank, price, priority, queue, first_response, onsite in plans:
        catalog.put_plan(
            session,
            catalog.PlanInput(code, name, rank, price, "USD", priority, queue, first_response, onsite, True),
            actor=ACTOR,
            now=now,
        )
    sha = hashlib.sha256(b"demo contract").hexdigest()
    contracts.create_draft(
        session, version="2025.1", title="Service contract 2025", document_url="https://example.com/contracts/2025.1.pdf",
        document_sha256=sha, grace_days=30, term_days=None, actor=ACTOR, now=now - timedelta(days=400),
    )
    contracts.publish(session, version="2025.1", at=now - timedelta(days=390), actor=ACTOR, now=now - timedelta(days=390))
    contracts.create_draft(
        session, version="2026.1", title="Service contract 2026 (ToS + SLA)",
        document_url="https://example.com/contracts/2026.1.md",
        document_sha256=hashlib.sha256(demo_campaign.DOCUMENT_2026).hexdigest(), grace_days=30, term_days=365,
        actor=ACTOR, now=now - timedelta(days=45),
    )
    demo_campaign.add_document(session, "2026.1", now - timedelta(days=45))
    contracts.publish(session, version="2026.1", at=now - timedelta(days=40), actor=ACTOR, now=now - timedelta(days=40))

    def client(name: str, phone: str, email: str, created_days_ago: int) -> str:
        idents = clients.normalize_identifiers(
            emails=[email], domains=[email.split("@")[1]], phones=[phone], region=region
        )
        return clients.create_client(
            session, name=name, identifiers=idents, actor=ACTOR, now=now - timedelta(days=created_days_ago)
        ).id

    # Signed 2025.1 only: the 2026.1 grace period is over -> advanced support refused.
    acme = client("Acme Dental", "(212) 555-0142", "office@acmedental.com", 500)
    records.record_acceptance(
        session, acme, contract_version="2025.1", decision="signed", method="paper", signer_name="Dr. Ada Acme",
        signer_email="office@acmedental.com", signed_at=now - timedelta(days=380), actor=ACTOR, now=now,
    )
    # Signed the current contract and a Gold member: priority routing.
    globex = client("Globex Law", "+1 415 555 0100", "it@globexlaw.com", 300)
    records.record_acceptance(
        session, globex, contract_version="2026.1", decision="signed", method="provider", signer_name="Hank Scorpio",
        signer_email="it@globexlaw.com", signed_at=now - timedelta(days=20), actor=ACTOR, now=now,
    )
    memberships.put_membership(
        session, globex, plan="gold", status="active", current_period_end=now + timedelta(days=20), external_ref=None,
        actor=ACTOR, now=now,
    )
    # Signed, no membership: advanced support yes, priority support refused with an upsell.
    initech = client("Initech", "020 7946 0018" if region == "GB" else "(646) 555-0199", "help@initech.com", 200)
    records.record_acceptance(
        session, initech, contract_version="2026.1", decision="signed", method="click_through", signer_name="Bill L.",
        signer_email="help@initech.com", signed_at=now - timedelta(days=10), actor=ACTOR, now=now,
    )
    # A new client: still inside its own grace period (pending).
    client("Umbrella Cafe", "(312) 555-0123", "owner@umbrellacafe.com", 2)
    # Declined the contract.
    hooli = client("Hooli Studio", "(718) 555-0177", "ops@hoolistudio.com", 250)
    records.record_acceptance(
        session, hooli, contract_version="2026.1", decision="declined", method="email", signer_name="Gavin B.",
        signer_email="ops@hoolistudio.com", signed_at=now - timedelta(days=5), actor=ACTOR, now=now,
    )
    return True
