"""Who may ask and through which channel: authorized contacts and per-channel ranks (PRODUCT.md)."""

from __future__ import annotations

from service.domain.model import Caller, ClientState, Contact, ContactRole, Reason, ReasonCode, Service


def contact_by_identifier(client: ClientState, kind: str, value: str) -> Contact | None:
    """The client's contact whose e-mail or phone (already normalised) this is, or None."""
    for contact in client.contacts:
        if (kind == "email" and contact.email == value) or (kind == "phone" and contact.phone == value):
            return contact
    return None


def approvers_of(client: ClientState) -> tuple[Contact, ...]:
    """The contacts with the role approver, by name: whom an agent calls when a caller is not authorized."""
    found = [c for c in client.contacts if ContactRole.APPROVER in c.roles]
    return tuple(sorted(found, key=lambda c: (c.name.casefold(), c.id)))


def contact_refusal(client: ClientState, service: Service, caller: Caller | None) -> Reason | None:
    """CONTACT_NOT_AUTHORIZED when the client restricts service to its contacts, the check named a
    person, the service requires the contract and that person is no contact with the role requester.
    Services that do not require the contract (triage) stay open to anyone."""
    if not client.restrict_to_contacts or not service.requires_contract:
        return None
    if caller is None or not caller.identified:
        return None  # nobody named (the client's main line or shared mailbox): the client's own rules apply
    contact = caller.contact
    if contact is not None and ContactRole.REQUESTER in contact.roles:
        return None
    if contact is None:
        detail = "the caller is not one of the client's authorized contacts"
    else:
        detail = f"{contact.name} is a contact of the client but may not request service (no role requester)"
    return Reason(ReasonCode.CONTACT_NOT_AUTHORIZED, detail + "; ask one of the client's approvers")


def rank_needed(service: Service, channel: str | None) -> int:
    """The rank the service needs through this channel: its channel_min_rank entry, else min_rank."""
    if channel is not None:
        for name, rank in service.channel_min_rank:
            if name == channel:
                return rank
    return service.min_rank


def channel_ranked(service: Service, channel: str | None) -> bool:
    """True when the channel has its own rank for this service (the refusal then names the channel)."""
    return channel is not None and any(name == channel for name, _rank in service.channel_min_rank)


def identify(
    client: ClientState, matched_by: str, ref: tuple[str, str] | None, contact: tuple[str, str] | None
) -> tuple[Caller, str]:
    """The person behind a check of this client and the final matched_by.

    `ref` is the (kind, value) that found the client, `contact` the (kind, value) given beside it.
    A contact's phone or e-mail names that contact (matched_by "contact"); `contact` beside the
    client names a person, known or not; an e-mail that only matched the client's domain is a person
    the client has not named. The client's own phone, e-mail, id or external reference names nobody."""
    if contact is not None and contact == ref:
        contact = None  # a caller id sent as both the client identifier and the contact: the identifier alone
    found = contact_by_identifier(client, *ref) if ref is not None and ref[0] in ("email", "phone") else None
    if found is not None:
        matched_by = "contact"
    if contact is not None:
        return Caller(identified=True, contact=contact_by_identifier(client, *contact)), matched_by
    if found is not None:
        return Caller(identified=True, contact=found), matched_by
    return Caller(identified=matched_by == "domain"), matched_by
