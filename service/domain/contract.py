"""Contract status of a client at a time, and the grace deadline (PRODUCT.md tables)."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.domain.model import (
    AcceptanceDecision,
    Catalog,
    ClientState,
    ContractStatus,
    ContractVersion,
    ContractView,
    Policy,
)


def current_version(versions: tuple[ContractVersion, ...], at: datetime) -> ContractVersion | None:
    """The version in force at `at`: the latest one published at or before it."""
    best: ContractVersion | None = None
    for version in versions:
        published = version.published_at
        if published is None or published > at:
            continue
        if best is None or (best.published_at is not None and published >= best.published_at):
            best = version
    return best


def grace_deadline(client: ClientState, version: ContractVersion, policy: Policy) -> datetime:
    assert version.published_at is not None
    if client.created_at <= version.published_at:
        deadline = version.published_at + timedelta(days=version.grace_days)
    else:
        deadline = client.created_at + timedelta(days=policy.new_client_grace_days)
    for extension in client.grace_extensions:
        if extension.contract_version == version.version and extension.until > deadline:
            deadline = extension.until
    return deadline


def contract_view(client: ClientState, catalog: Catalog, at: datetime) -> ContractView:
    """Apply the contract-status table of PRODUCT.md to one client at time `at`."""
    # Answers given after `at` did not exist yet at `at` ("what if" evaluations).
    answers = [a for a in client.acceptances if a.signed_at <= at]
    signatures = [a for a in answers if a.decision is AcceptanceDecision.SIGNED]
    last_signature = max(signatures, key=lambda a: a.signed_at, default=None)

    version = current_version(catalog.versions, at)
    if version is None:
        return ContractView(
            status=ContractStatus.NOT_CONFIGURED,
            current_version=None,
            signed_version=last_signature.contract_version if last_signature else None,
            signed_at=last_signature.signed_at if last_signature else None,
            grace_until=None,
        )

    deadline = grace_deadline(client, version, catalog.policy)
    of_current = [a for a in answers if a.contract_version == version.version]
    latest = max(of_current, key=lambda a: (a.signed_at, a.decision is AcceptanceDecision.SIGNED), default=None)
    signed_current = [a for a in of_current if a.decision is AcceptanceDecision.SIGNED]
    latest_signed_current = max(signed_current, key=lambda a: a.signed_at, default=None)

    shown = latest_signed_current or last_signature
    signed_version = shown.contract_version if shown else None
    signed_at = shown.signed_at if shown else None

    if latest is not None and latest.decision is AcceptanceDecision.DECLINED:
        status = ContractStatus.DECLINED
    elif latest_signed_current is not None:
        term = version.term_days
        if term is not None and at >= latest_signed_current.signed_at + timedelta(days=term):
            status = ContractStatus.EXPIRED
        else:
            status = ContractStatus.SIGNED
    elif at < deadline:
        status = ContractStatus.PENDING
    else:
        status = ContractStatus.UNSIGNED
    return ContractView(
        status=status,
        current_version=version.version,
        signed_version=signed_version,
        signed_at=signed_at,
        grace_until=deadline,
    )
