"""Payloads shaped like each provider's documented ones, signed the provider's way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

DOCUSIGN_KEYS = ("old-connect-key", "new-connect-key")
DROPBOX_KEY = "dbx-api-key-0123456789"
PANDADOC_KEY = "pandadoc-shared-key"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-secret-32bytes").decode()
ADOBE_CLIENT_IDS = ("UB7E5BXCXY", "CBJCHBCAABAA")
ADOBE_TOKEN = "adobe-integration-token"


def stamp(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


# ---- DocuSign Connect JSON SIM -------------------------------------------------------------------
def docusign_body(
    event: str, envelope_id: str, *, client_id: str | None = None, version: str | None = "2026.1",
    generated: str | None = None, signer_status: str = "completed", retry_count: int = 0,
) -> bytes:
    fields = []
    if client_id is not None:
        fields.append({"fieldId": "1", "name": "client_id", "show": "false", "required": "false", "value": client_id})
    if version is not None:
        fields.append({"fieldId": "2", "name": "contract_version", "show": "false", "required": "false", "value": version})
    body = {
        "event": event,
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/acc-1/envelopes/{envelope_id}",
        "retryCount": retry_count,
        "configurationId": 10001,
        "generatedDateTime": generated or stamp(),
        "data": {
            "accountId": "acc-1",
            "userId": "user-1",
            "envelopeId": envelope_id,
            "envelopeSummary": {
                "status": {"envelope-completed": "completed", "envelope-declined": "declined"}.get(event, "sent"),
                "emailSubject": "Please sign the support contract",
                "recipients": {
                    "signers": [{
                        "email": "ada@acme.example", "name": "Ada Lovelace", "recipientId": "1",
                        "status": signer_status, "signedDateTime": stamp(),
                    }],
                },
                "customFields": {"textCustomFields": fields, "listCustomFields": []},
            },
        },
    }
    return json.dumps(body).encode()


def docusign_signature(raw: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha256).digest()).decode()


def docusign_headers(raw: bytes, *keys: str) -> dict[str, str]:
    keys = keys or (DOCUSIGN_KEYS[0],)
    headers = {"Content-Type": "application/json"}
    for n, key in enumerate(keys, start=1):
        headers[f"X-DocuSign-Signature-{n}"] = docusign_signature(raw, key)
    return headers


# ---- Standard Webhooks ---------------------------------------------------------------------------
def standard_body(kind: str = "contract.signed", **data: Any) -> bytes:
    return json.dumps({"type": kind, "timestamp": datetime.now(UTC).isoformat(), "data": data}).encode()


def standard_headers(raw: bytes, *, secret: str = STANDARD_SECRET, msg_id: str | None = None,
                     at: float | None = None) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    when = datetime.fromtimestamp(at if at is not None else time.time(), UTC)
    signature = Webhook(secret).sign(msg_id, when, raw.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature,
            "content-type": "application/json"}


# ---- PandaDoc ------------------------------------------------------------------------------------
def pandadoc_event(event: str, document_id: str, status: str, *, client_id: str | None = None,
                   version: str | None = "2026.1") -> dict[str, Any]:
    metadata = {k: v for k, v in (("client_id", client_id), ("contract_version", version)) if v is not None}
    return {
        "event": event,
        "data": {
            "id": document_id, "name": "Support contract", "status": status,
            "date_created": "2026-11-20T09:00:00.000000Z", "date_modified": stamp(),
            "metadata": metadata,
            "recipients": [{"id": "r1", "email": "ada@acme.example", "first_name": "Ada", "last_name": "Lovelace",
                            "recipient_type": "signer", "has_completed": status == "document.completed"}],
        },
    }


def pandadoc_signature(raw: bytes, key: str = PANDADOC_KEY) -> str:
    return hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()


# ---- Dropbox Sign --------------------------------------------------------------------------------
def dropbox_event(event_type: str, request_id: str, *, client_id: str | None = None, version: str | None = "2026.1",
                  event_time: str | None = None, key: str = DROPBOX_KEY, complete: bool | None = None) -> str:
    event_time = event_time or str(int(time.time()))
    event_hash = hmac.new(key.encode(), (event_time + event_type).encode(), hashlib.sha256).hexdigest()
    metadata = {k: v for k, v in (("client_id", client_id), ("contract_version", version)) if v is not None}
    return json.dumps({
        "event": {"event_time": event_time, "event_type": event_type, "event_hash": event_hash,
                  "event_metadata": {"related_signature_id": "sig-1", "reported_for_account_id": "acct-1"}},
        "signature_request": dropbox_request(request_id, metadata, complete=event_type.endswith("all_signed")
                                             if complete is None else complete),
    })


def dropbox_request(request_id: str, metadata: dict[str, Any], *, complete: bool = True,
                    declined: bool = False) -> dict[str, Any]:
    return {
        "signature_request_id": request_id, "title": "Support contract", "is_complete": complete,
        "is_declined": declined, "metadata": metadata,
        "signatures": [{"signature_id": "sig-1", "signer_email_address": "ada@acme.example", "signer_name": "Ada Lovelace",
                        "status_code": "declined" if declined else ("signed" if complete else "awaiting_signature"),
                        "signed_at": int(time.time()) if complete else None}],
    }


def dropbox_files(document: str) -> dict[str, Any]:
    """Multipart form with the event in the plain field `json`, as Dropbox Sign posts it."""
    return {"json": (None, document)}


# ---- Adobe Acrobat Sign --------------------------------------------------------------------------
def adobe_body(event: str, agreement_id: str, *, notification_id: str | None = None) -> bytes:
    return json.dumps({
        "webhookId": "wh-1", "webhookName": "supportgate", "webhookNotificationId": notification_id or uuid.uuid4().hex,
        "webhookUrlInfo": {"url": "https://supportgate.example/v1/webhooks/adobe-sign"}, "webhookScope": "ACCOUNT",
        "event": event, "eventDate": datetime.now(UTC).isoformat(), "eventResourceType": "agreement",
        "participantRole": "SIGNER", "participantUserEmail": "ada@acme.example",
        "agreement": {"id": agreement_id, "name": "Support contract", "status": "SIGNED"},
    }).encode()
