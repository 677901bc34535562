"""Example payloads shown in the OpenAPI document, one per response model."""

from typing import Any

CLIENT_OUT: dict[str, Any] = {
    "id": "cl_agrbd7tbg4frynlpzqgq4vy",
    "name": "Acme Dental",
    "status": "active",
    "emails": ["office@acmedental.com"],
    "domains": ["acmedental.com"],
    "phones": ["+12125550142"],
    "external_refs": [{"system": "halopsa", "id": "1042"}],
    "contract": {
        "status": "pending",
        "current_version": "2026.1",
        "signed_version": None,
        "signed_at": None,
        "grace_until": "2026-12-24T00:00:00+00:00",
    },
    "membership": {"plan": None, "rank": 0, "status": None, "current_period_end": None},
    "created_at": "2026-11-24T10:00:00+00:00",
    "updated_at": "2026-11-24T10:00:00+00:00",
    "contacts": [{"id": "ct_agrbd7tbg4frynlpzqgq4vz", "name": "Dr. Ada Molar", "email": "ada@acmedental.com",
                  "phone": "+12125550199", "roles": ["approver", "requester"]}],
    "restrict_to_contacts": True,
}
IMPORT_RESULT_OUT: dict[str, Any] = {
    "created": 120,
    "updated": 3,
    "unchanged": 40,
    "errors": [{"row": 7, "detail": "not a phone number: 'n/a'"}],
    "dry_run": False,
}
EVENT_OUT: dict[str, Any] = {
    "id": "42",
    "kind": "acceptance.signed",
    "actor": "webhook:docusign",
    "subject": "2026.1",
    "before": None,
    "after": {"contract_version": "2026.1", "decision": "signed"},
    "created_at": "2026-11-24T10:00:00+00:00",
}
MEMBERSHIP_RECORD_OUT: dict[str, Any] = {
    "id": "mb_agrbd7tbg4frynlpzqgq4vy",
    "plan": "gold",
    "status": "active",
    "current_period_end": "2026-12-24T00:00:00+00:00",
    "external_ref": "sub_123",
    "created_at": "2026-11-24T10:00:00+00:00",
    "superseded_at": None,
}
ACCEPTANCE_OUT: dict[str, Any] = {
    "id": "acc_agrbd7tbg4frynlpzqgq4vy",
    "contract_version": "2026.1",
    "decision": "signed",
    "method": "paper",
    "signer_name": "Ada Acme",
    "signer_email": "ada@acmedental.com",
    "signed_at": "2026-11-24T10:00:00+00:00",
    "provider": None,
    "envelope_id": None,
    "actor": "front-desk",
    "created_at": "2026-11-24T10:00:00+00:00",
}
SIGNATURE_REQUEST_OUT: dict[str, Any] = {
    "id": "sr_agrbd7tbg4frynlpzqgq4vy",
    "provider": "docusign",
    "external_id": "93be49ab-2b4e-4a5f-b4a2-3c8d6c3b1f10",
    "contract_version": "2026.1",
    "status": "sent",
    "created_at": "2026-11-24T10:00:00+00:00",
    "updated_at": "2026-11-24T10:00:00+00:00",
}
GRACE_OUT: dict[str, Any] = {
    "client_id": "cl_agrbd7tbg4frynlpzqgq4vy",
    "contract_version": "2026.1",
    "grace_until": "2027-01-15T00:00:00+00:00",
}
OVERRIDE_OUT: dict[str, Any] = {
    "id": "ovr_agrbd7tbg4frynlpzqgq4vy",
    "client_id": "cl_agrbd7tbg4frynlpzqgq4vy",
    "service": "advanced_support",
    "reason": "signing today",
    "actor": "front-desk",
    "created_at": "2026-11-24T10:00:00+00:00",
    "expires_at": "2026-11-25T10:00:00+00:00",
    "revoked_at": None,
    "active": True,
}
SERVICE_OUT: dict[str, Any] = {"code": "priority_support", "name": "Priority support", "requires_contract": True, "min_rank": 1,
                               "channel_min_rank": {"phone": 2}}
PLAN_OUT: dict[str, Any] = {
    "code": "gold",
    "name": "Gold",
    "rank": 2,
    "monthly_price": {"amount_minor": 14900, "currency": "USD"},
    "routing": {"priority": "high", "queue": "priority"},
    "sla": {"first_response_minutes": 30, "onsite_response_hours": 8},
    "active": True,
}
CONTRACT_VERSION_OUT: dict[str, Any] = {
    "version": "2026.1",
    "title": "Service contract 2026",
    "document_url": "https://example.com/contracts/2026.1.pdf",
    "document_sha256": "3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f",
    "grace_days": 30,
    "term_days": 365,
    "status": "current",
    "created_at": "2026-11-24T10:00:00+00:00",
    "published_at": "2026-11-24T10:00:00+00:00",
}
COVERAGE_OUT: dict[str, Any] = {
    "clients_active": 250,
    "contract": {"signed": 180, "pending": 40, "unsigned": 20, "declined": 5, "expired": 5, "not_configured": 0},
    "signed_pct": 72.0,
    "members": {"silver": 30, "gold": 12},
    "members_pct": 16.8,
    "rmr": {"amount_minor": 325800, "currency": "USD"},
    "rmr_by_currency": [{"amount_minor": 325800, "currency": "USD"}],
    "evaluated_at": "2026-11-24T10:00:00+00:00",
}
FLAT_DECISION: dict[str, Any] = {
    "allowed": "false",
    "found": "true",
    "client_id": "cl_agrbd7tbg4frynlpzqgq4vy",
    "client_name": "Acme Dental",
    "service": "advanced_support",
    "reason": "CONTRACT_UNSIGNED",
    "reasons": "CONTRACT_UNSIGNED",
    "contract_status": "unsigned",
    "grace_until": "2026-11-15T00:00:00+00:00",
    "signed_version": "2025.1",
    "plan": "",
    "rank": "0",
    "priority": "normal",
    "queue": "standard",
    "route": "triage",
    "first_response_minutes": "240",
    "onsite_response_hours": "72",
    "upsell": "",
    "normalized_phone": "+12125550142",
    "degraded": "false",
    "decision_id": "dec_agrbd7t2ovlh5qe5kwoi6eq",
    "evaluated_at": "2026-11-24T10:00:00+00:00",
    "contact_name": "",
}
