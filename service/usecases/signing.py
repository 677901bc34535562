"""Signing through a link: what the page shows, recording an accept or a decline with its evidence, the receipt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.contract_render import plain_text
from service.domain.signing import (
    ACCEPT_BUTTON,
    CONSENT_TEXT,
    CONSENT_VERSION,
    DECLINE_BUTTON,
    DiffLine,
    SigningForm,
    form_problems,
    text_changes,
)
from service.errors import Gone, InvalidInput, NotFound
from service.storage import signing_links as store
from service.storage import tables as t
from service.storage.sql import SqlRepository
from service.usecases import audit
from service.usecases.contract_documents import is_text
from service.usecases.mail import queue_mail
from service.usecases.records import record_acceptance
from service.usecases.signing_links import link_for_token, signing_url, usable_link

MAX_USER_AGENT = 1000


class FormProblems(InvalidInput):
    """The signer's form is not complete: shown again with these messages, nothing recorded."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()), errors=[{"loc": ["form", k], "msg": v} for k, v in problems.items()])
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Document:
    content_type: str
    sha256: str
    body: bytes | None  # None: only the version's URL is known (no document uploaded)
    url: str


@dataclass(frozen=True, slots=True)
class SigningPage:
    link: t.SigningLink
    client_name: str
    contract_title: str
    document: Document
    previous_version: str | None
    changes: list[DiffLine] | None  # None: nothing to compare (no earlier signature, or not both text)


def _document(session: Session, version: t.ContractVersion) -> Document:
    found = store.document(session, version.version)
    if found is None:
        return Document("", version.document_sha256, None, version.document_url)
    return Document(found.content_type, found.sha256, found.body, version.document_url)


def _version(session: Session, version: str) -> t.ContractVersion:
    row = SqlRepository(session).get_version(version)
    if row is None:  # a link's version is a foreign key: only a broken database gets here
        raise NotFound(f"no contract version {version!r}")
    return row


def signing_page(session: Session, token: str, now: datetime) -> SigningPage:
    """What the page shows; the first visit is noted (a campaign counts the link as opened)."""
    link = usable_link(session, token, now)
    if store.mark_opened(session, link.id, now=now):
        link.first_opened_at = now
        audit.record(session, kind="signing_link.opened", actor="signer", at=now, scope="none", client_id=link.client_id,
                     subject=link.id, after={"link_id": link.id})
    client = SqlRepository(session).get_client(link.client_id)
    version = _version(session, link.contract_version)
    document = _document(session, version)
    previous = store.latest_signed_version_before(session, link.client_id, link.contract_version)
    changes = None
    if previous is not None and document.body is not None and is_text(document.content_type):
        old = store.document(session, previous)
        if old is not None and is_text(old.content_type):
            changes = text_changes(plain_text(old.content_type, old.body), plain_text(document.content_type, document.body))
    return SigningPage(link, client.name if client else "", version.title, document, previous, changes)


def link_document(session: Session, token: str) -> t.ContractDocument:
    """The document of a link, for the holder of the token (also after signing: it is their copy)."""
    link = link_for_token(session, token)
    found = store.document(session, link.contract_version)
    if found is None:
        raise NotFound("this contract version has no uploaded document")
    return found


def submit(
    session: Session, token: str, form: SigningForm, *, ip: str, user_agent: str, now: datetime, public_url: str,
) -> t.Acceptance:
    """Record the signer's answer, its evidence and the mailed copy, all in the caller's transaction."""
    link = usable_link(session, token, now)
    problems = form_problems(form)
    if problems:
        raise FormProblems(problems)
    version = _version(session, link.contract_version)
    document = _document(session, version)
    # The conditional UPDATE spends the link: of two submits racing, one records, the other gets 410.
    if not store.mark_used(session, link.id, now=now):
        raise Gone("this signing link has just been used")
    decision = "signed" if form.decision == "accept" else "declined"
    acceptance = record_acceptance(
        session, link.client_id, contract_version=link.contract_version, decision=decision, method="click_through",
        signer_name=form.signer_name or None, signer_email=link.email, signed_at=now, actor=f"signing-link {link.id}",
        now=now,
    )
    link.used_at, link.acceptance_id = now, acceptance.id
    evidence = t.ClickThroughEvidence(
        acceptance_id=acceptance.id, signing_link_id=link.id, signer_title=form.signer_title or None,
        decline_reason=(form.reason or None) if decision == "declined" else None, ip=ip[:64],
        user_agent=user_agent[:MAX_USER_AGENT], document_sha256=document.sha256, consent_version=CONSENT_VERSION,
        button_text=ACCEPT_BUTTON if decision == "signed" else DECLINE_BUTTON, server_time=now,
    )
    session.add(evidence)
    audit.record(
        session, kind="signing_link.used", actor="signer", at=now, scope="none", client_id=link.client_id, subject=link.id,
        after={"link_id": link.id, "acceptance_id": acceptance.id, "decision": decision, "ip": evidence.ip,
               "document_sha256": document.sha256, "consent_version": CONSENT_VERSION},
    )
    session.flush()
    client = SqlRepository(session).get_client(link.client_id)
    receipt = Receipt.of(acceptance, evidence, client.name if client else "")
    _queue_copy(session, receipt, version, document, signing_url(public_url, token) + "/receipt", now)
    return acceptance


@dataclass(frozen=True, slots=True)
class Receipt:
    acceptance_id: str
    client_name: str
    contract_version: str
    document_sha256: str
    decision: str
    signer_name: str | None
    signer_title: str | None
    signer_email: str | None
    signed_at: datetime
    ip: str
    user_agent: str
    consent_version: str
    consent_text: str
    decline_reason: str | None
    link_id: str
    button_text: str

    @classmethod
    def of(cls, acceptance: t.Acceptance, evidence: t.ClickThroughEvidence, client_name: str) -> Receipt:
        return cls(
            acceptance_id=acceptance.id, client_name=client_name, contract_version=acceptance.contract_version,
            document_sha256=evidence.document_sha256, decision=acceptance.decision, signer_name=acceptance.signer_name,
            signer_title=evidence.signer_title, signer_email=acceptance.signer_email, signed_at=acceptance.signed_at,
            ip=evidence.ip, user_agent=evidence.user_agent, consent_version=evidence.consent_version,
            consent_text=CONSENT_TEXT if evidence.consent_version == CONSENT_VERSION else "",
            decline_reason=evidence.decline_reason, link_id=evidence.signing_link_id, button_text=evidence.button_text,
        )


def receipt(session: Session, token: str) -> Receipt:
    link = link_for_token(session, token)
    evidence = store.evidence_for_link(session, link.id)
    acceptance = session.get(t.Acceptance, evidence.acceptance_id) if evidence else None
    if evidence is None or acceptance is None:
        raise NotFound("this link has not been answered yet: there is no receipt")
    client = SqlRepository(session).get_client(link.client_id)
    return Receipt.of(acceptance, evidence, client.name if client else "")


def evidence_of(session: Session, acceptance_id: str) -> Receipt:
    """The click-through evidence of an acceptance (for a technician or a dispute)."""
    evidence = store.evidence(session, acceptance_id)
    acceptance = session.get(t.Acceptance, acceptance_id)
    if evidence is None or acceptance is None:
        raise NotFound(f"acceptance {acceptance_id!r} was not given through a signing link (no click-through evidence)")
    client = SqlRepository(session).get_client(acceptance.client_id)
    return Receipt.of(acceptance, evidence, client.name if client else "")


def _queue_copy(session: Session, receipt: Receipt, version: t.ContractVersion, document: Document, receipt_url: str,
                now: datetime) -> None:
    if receipt.signer_email is None:
        return
    signed = receipt.decision == "signed"
    lines = [
        f"Hello {receipt.signer_name or ''},".replace(" ,", ","),
        "",
        (f"this confirms that you signed \u201c{version.title}\u201d (version {version.version}) for {receipt.client_name}."
         if signed else
         f"this confirms that you declined \u201c{version.title}\u201d (version {version.version}) for {receipt.client_name}."),
        "",
        f"When: {receipt.signed_at:%Y-%m-%d %H:%M:%S} UTC",
        f"Signer: {receipt.signer_name or '-'}{f', {receipt.signer_title}' if receipt.signer_title else ''} <{receipt.signer_email}>",
        f"Document SHA-256: {receipt.document_sha256}",
        f"Receipt: {receipt_url}",
        f"Reference: {receipt.acceptance_id}",
    ]
    if signed:
        lines += ["", f"You agreed to sign electronically ({receipt.consent_version}):", receipt.consent_text]
    if document.body is not None and is_text(document.content_type):
        lines += ["", "The document you were shown:", "", plain_text(document.content_type, document.body)]
    else:
        lines += ["", f"The document: {receipt_url.rsplit('/', 1)[0]}/document"]
    # One line, whatever the title holds (a line break in a subject is refused by queue_mail).
    subject = " ".join(f"{'Signed' if signed else 'Declined'}: {version.title} ({version.version})".split())[:1000]
    queue_mail(session, to=receipt.signer_email, subject=subject, text="\n".join(lines) + "\n", html=None,
               message_id=f"<receipt.{receipt.acceptance_id}@supportgate>", ref_kind="acceptance",
               ref_id=receipt.acceptance_id, now=now)
