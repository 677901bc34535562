"""The tables, one module per aggregate, on one MetaData (`Base.metadata`): importing this package registers them all.

Alembic's env and the migrations-vs-models test read that MetaData, so every aggregate module is imported here;
code names a table as `tables.Client` whichever module declares it.
"""

from __future__ import annotations

from service.storage.tables.access import ApiKey, Event, UiSession
from service.storage.tables.allowances import AllowanceGrant, AllowanceLeg, AllowanceUsage, PlanAllowances
from service.storage.tables.base import NAMING_CONVENTION, Base, UTCDateTime
from service.storage.tables.campaigns import Campaign, CampaignMessage, CampaignRecipient, MailOutbox
from service.storage.tables.catalog import Calendar, CalendarVersion, Plan, Service
from service.storage.tables.clients import Client, ClientContact, ClientIdentifier, GraceExtension, Override
from service.storage.tables.contracts import (
    Acceptance,
    ClickThroughEvidence,
    ContractDocument,
    ContractVersion,
    SignatureRequest,
    SigningLink,
)
from service.storage.tables.memberships import BillingSubscription, Membership, PlanExternalPrice
from service.storage.tables.work import Job, JobFile, OutboxMessage, WebhookEvent

__all__ = [
    "NAMING_CONVENTION", "UTCDateTime", "Base", "Client", "ClientIdentifier", "ClientContact", "Override",
    "GraceExtension", "Plan", "Service", "Calendar", "CalendarVersion", "ContractVersion", "Acceptance",
    "SignatureRequest", "ContractDocument", "SigningLink", "ClickThroughEvidence", "Membership",
    "PlanExternalPrice", "BillingSubscription", "PlanAllowances", "AllowanceGrant", "AllowanceUsage",
    "AllowanceLeg", "Campaign", "CampaignRecipient", "CampaignMessage", "MailOutbox", "WebhookEvent",
    "OutboxMessage", "Job", "JobFile", "ApiKey", "UiSession", "Event",
]
