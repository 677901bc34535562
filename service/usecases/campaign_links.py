"""A technician's signing link for one client, now: mailed with the campaign's letter, or handed over to copy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.domain import campaign as rules
from service.domain import model as dm
from service.domain.contract import current_version
from service.errors import Conflict, InvalidInput
from service.settings import Settings
from service.storage import campaigns as store
from service.storage.sql import SqlRepository
from service.usecases import campaign_mail as letters
from service.usecases.campaigns import compose, templates_of
from service.usecases.mail import queue_mail
from service.usecases.signing_links import SigningLinkView, create_signing_link


def _version(catalog: dm.Catalog, now: datetime) -> dm.ContractVersion:
    version = current_version(catalog.versions, now)
    if version is None:
        raise Conflict("no contract version is published yet")
    return version


def _address(session: Session, client_id: str, email: str | None) -> str:
    emails = store.client_emails(session, client_id)
    if email:
        if email.strip().lower() not in emails:
            raise InvalidInput("that e-mail is not one of the client's addresses",
                               errors=[{"loc": ["body", "email"], "msg": "not an address of this client"}])
        return email.strip().lower()
    if not emails:
        raise InvalidInput("the client has no e-mail address: add one, or copy the link and send it another way",
                           errors=[{"loc": ["body", "email"], "msg": "no address"}])
    return emails[0]


def copy_link(session: Session, catalog: dm.Catalog, settings: Settings, *, client_id: str, email: str | None,
              actor: str, now: datetime) -> tuple[SigningLinkView, str]:
    """A fresh link for the current version, to read out or paste into a chat (its URL is shown once)."""
    version = _version(catalog, now)
    address = _address(session, client_id, email)
    return create_signing_link(session, client_id=client_id, email=address, contract_version=version.version, now=now,
                               actor=actor, public_url=settings.public_url)


def send_link_now(session: Session, catalog: dm.Catalog, settings: Settings, *, client_id: str, email: str | None,
                  actor: str, now: datetime) -> SigningLinkView:
    """Mail a fresh link now, in the letter of the running campaign for the current version (else the shipped one)."""
    version = _version(catalog, now)
    address = _address(session, client_id, email)
    repo = SqlRepository(session)
    state = repo.load_client_state(client_id)
    version_row = repo.get_version(version.version)
    assert state is not None and version_row is not None
    campaign = next((c for c in store.running(session) if c.contract_version == version.version), None)
    link, url = create_signing_link(session, client_id=client_id, email=address, contract_version=version.version,
                                    now=now, actor=actor, public_url=settings.public_url)
    templates = templates_of(campaign) if campaign is not None else letters.Templates()
    letter = compose(templates, campaign.from_address if campaign else None, version_row, state, catalog, settings,
                     step=rules.INITIAL, signing_url=url, now=now)
    headers = letters.headers(campaign_id=campaign.id, step=rules.INITIAL, public_url=settings.public_url,
                              unsubscribe_token=None, reply_to=campaign.reply_to, from_address=campaign.from_address
                              ) if campaign else {}
    queue_mail(session, to=address, subject=letter.subject, text=letter.text, html=letter.html,
               message_id=letters.message_id(settings.public_url, "link", link.id, "manual"), headers=headers,
               ref_kind="signing_link", ref_id=link.id, now=now)
    return link
