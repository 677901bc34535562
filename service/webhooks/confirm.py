"""Asking Dropbox Sign / Adobe Sign whether an event they sent (but did not fully sign) is true."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from service.settings import Settings
from service.webhooks import NormalisedEvent, as_object, text
from service.webhooks import dropbox_sign as dropbox

CONFIRMED_PROVIDERS = frozenset({"dropbox_sign", "adobe_sign"})
ADOBE_SIGNED = frozenset({"SIGNED", "APPROVED", "ACCEPTED", "FORM_FILLED"})
ADOBE_DECLINED = frozenset({"CANCELLED", "REJECTED", "DECLINED"})


class ProviderUnreachable(Exception):
    """The provider's API did not give a usable answer: keep the event and retry later."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    confirmed: bool
    detail: str
    # Matching facts read from the provider's API (trusted), replacing those in the unsigned body.
    metadata: dict[str, Any] | None = None
    signer_name: str | None = None
    signer_email: str | None = None


def needs_confirmation(event: NormalisedEvent) -> bool:
    return event.provider in CONFIRMED_PROVIDERS and event.status in ("signed", "declined")


class ProviderApi:
    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.settings = settings
        self.http = http

    def confirm(self, event: NormalisedEvent) -> Confirmation:
        if event.provider == "dropbox_sign":
            return self._dropbox(event)
        if event.provider == "adobe_sign":
            return self._adobe(event)
        raise ValueError(f"{event.provider} events need no confirmation")

    def _get(self, url: str, **kwargs: Any) -> dict[str, Any] | None:
        """The JSON object at `url`; None when the provider says it does not exist."""
        try:
            response = self.http.get(url, **kwargs)
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(f"{type(exc).__name__} calling the provider API") from None
        if response.status_code in (404, 410):
            return None
        if response.status_code != 200:
            raise ProviderUnreachable(f"the provider API answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnreachable("the provider API answered something that is not JSON") from None
        if not isinstance(body, dict):
            raise ProviderUnreachable("the provider API answered something that is not a JSON object")
        return body

    def _dropbox(self, event: NormalisedEvent) -> Confirmation:
        key = self.settings.dropbox_sign_api_key
        if key is None or not event.envelope_id:
            raise ProviderUnreachable("no Dropbox Sign API key is configured")
        url = f"{self.settings.dropbox_sign_api_url.rstrip('/')}/v3/signature_request/{quote(event.envelope_id, safe='')}"
        body = self._get(url, auth=(key.get_secret_value(), ""))
        if body is None:
            return Confirmation(False, "Dropbox Sign knows no such signature request")
        request = as_object(body.get("signature_request"))
        if text(request.get("signature_request_id"), 200) != event.envelope_id:
            return Confirmation(False, "Dropbox Sign answered for another signature request")
        if event.status == "signed" and request.get("is_complete") is not True:
            return Confirmation(False, "Dropbox Sign says the signature request is not complete")
        if event.status == "declined" and request.get("is_declined") is not True:
            return Confirmation(False, "Dropbox Sign says the signature request is not declined")
        signer = dropbox.signer_of(request, None)
        return Confirmation(
            True, "confirmed by the Dropbox Sign API", metadata=as_object(request.get("metadata")),
            signer_name=text(signer.get("signer_name")), signer_email=text(signer.get("signer_email_address"), 320),
        )

    def _adobe(self, event: NormalisedEvent) -> Confirmation:
        base, token = self.settings.adobe_sign_api_url, self.settings.adobe_sign_api_token
        if not base or token is None or not event.envelope_id:
            raise ProviderUnreachable("SUPPORTGATE_ADOBE_SIGN_API_URL and _API_TOKEN are needed to confirm")
        url = f"{base.rstrip('/')}/api/rest/v6/agreements/{quote(event.envelope_id, safe='')}"
        body = self._get(url, headers={"Authorization": f"Bearer {token.get_secret_value()}"})
        if body is None:
            return Confirmation(False, "Adobe Sign knows no such agreement")
        status = text(body.get("status"), 64) or ""
        wanted = ADOBE_SIGNED if event.status == "signed" else ADOBE_DECLINED
        if status not in wanted:
            return Confirmation(False, f"Adobe Sign says the agreement is {status or 'of unknown status'}")
        return Confirmation(True, "confirmed by the Adobe Sign API")
