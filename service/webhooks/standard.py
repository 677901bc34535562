"""Standard Webhooks (spec 1.0) through the `standardwebhooks` package: ±5 minutes, dedupe on webhook-id."""

from __future__ import annotations

import binascii
from collections.abc import Mapping

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service.webhooks import MalformedEvent, NormalisedEvent, SignatureRejected, as_object, first_dated, text

PROVIDER = "standard"
STATUS_OF_TYPE = {"contract.signed": "signed", "contract.declined": "declined", "contract.voided": "voided"}
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def verify(raw: bytes, headers: Mapping[str, str], secret: str) -> None:
    wanted = {name: headers[name] for name in HEADERS if name in headers}
    try:
        Webhook(secret).verify(raw, wanted, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        # A malformed header makes the package raise plain ValueError / binascii.Error: still a 401.
        raise SignatureRejected("the Standard Webhooks signature does not verify") from None


def parse(raw: bytes, headers: Mapping[str, str]) -> NormalisedEvent:
    message_id = text(headers.get("webhook-id"), 200)
    if not message_id:
        raise MalformedEvent("webhook-id is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedEvent("the body is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedEvent("the body is not a JSON object")
    kind = text(body.get("type"), 100)
    if kind not in STATUS_OF_TYPE:
        raise MalformedEvent("type must be contract.signed, contract.declined or contract.voided")
    data = as_object(body.get("data"))
    ref = as_object(data.get("external_ref"))
    occurred_at, refusal = first_dated((data.get("signed_at"), "data.signed_at"), (body.get("timestamp"), "timestamp"))
    return NormalisedEvent(
        provider=PROVIDER,
        event_key=message_id,
        event_type=kind,
        envelope_id=text(data.get("envelope_id"), 200),
        status=STATUS_OF_TYPE[kind],
        occurred_at=occurred_at,
        signer_name=text(data.get("signer_name")),
        signer_email=text(data.get("signer_email"), 320),
        client_id=text(data.get("client_id"), 40),
        contract_version=text(data.get("contract_version"), 64),
        external_system=text(ref.get("system"), 64),
        external_id=text(ref.get("id"), 200),
        refusal=refusal,
    )
