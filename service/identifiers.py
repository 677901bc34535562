"""Normalising client identifiers: phones to E.164 (phonenumbers), e-mails and domains lower-cased."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from service.errors import InvalidInput

# Caller ids that phone systems send when the number is withheld: an unknown caller, not an error.
WITHHELD_CALLER_IDS = frozenset({"", "anonymous", "restricted", "unknown", "private", "unavailable", "+266696687", "266696687"})

_EMAIL = re.compile(r"^[^@\s]+@([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)$")
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


def is_withheld(raw: str) -> bool:
    return raw.strip().lower() in WITHHELD_CALLER_IDS


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=65536)
def _phone_cached(raw: str, region: str) -> str | None:
    # A '+' sent unencoded in a query string arrives as a leading space.
    lost_plus = raw[:1] == " " and raw.lstrip()[:1].isdigit()
    text = raw.strip()
    lowered = text.lower()
    for scheme in ("tel:", "sip:", "sips:"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            # user part of a SIP URI; drop parameters of a tel: URI
            text = text.split("@", 1)[0].split(";", 1)[0]
            break
    text = text.strip()
    if not text or len(text) > 40 or not re.search(r"\d", text):
        return None
    digits_only = re.sub(r"[\s().\-/]", "", text)
    # The region's own reading first (a British 0114... is national), then the international
    # prefixes 00 and 011 (3CX "Zeros", North American dialling) and a lost '+' as alternatives.
    candidates = [text]
    if digits_only.startswith("011"):
        candidates.append("+" + digits_only[3:])
    if digits_only.startswith("00"):
        candidates.append("+" + digits_only[2:])
    if lost_plus:
        candidates.append("+" + digits_only)
    parsed = [n for n in (_parse(c, region) for c in candidates) if n is not None]
    number = next((n for n in parsed if phonenumbers.is_valid_number(n)), None)
    if number is None:
        number = next((n for n in parsed if phonenumbers.is_possible_number(n)), None)
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: str, region: str = "US") -> str:
    """E.164 form of a phone number in any common format; InvalidInput when it is none."""
    result = _phone_cached(raw, region)
    if result is None:
        raise InvalidInput(f"not a phone number: {raw[:40]!r}")
    return result


def normalize_email(raw: str) -> str:
    value = raw.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInput(f"not an e-mail address: {raw[:60]!r}")
    return value


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1]


def normalize_domain(raw: str) -> str:
    value = raw.strip().lower().lstrip("@").rstrip(".")
    if len(value) > 253 or not _DOMAIN.match(value):
        raise InvalidInput(f"not a domain: {raw[:60]!r}")
    return value


def normalize_external(system: str, external_id: str) -> tuple[str, str]:
    system, external_id = system.strip().lower(), external_id.strip()
    if not system or not external_id or len(system) > 64 or len(external_id) > 200:
        raise InvalidInput("an external reference needs a system and an id (at most 64 and 200 characters)")
    return system, external_id
