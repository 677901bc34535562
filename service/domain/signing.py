"""Click-through signing: the consent text (versioned), the form's rules and the change between two texts."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

# The consent shown above the buttons and recorded by version on every click-through acceptance.
# A change of wording is a new version: evidence must name the exact text the signer agreed to.
CONSENT_VERSION = "esign-2026-12"
CONSENT_TEXT = (
    "I agree to sign this contract electronically and to receive it and related records electronically. "
    "My typed name and my click on \u201cAccept and sign\u201d are my signature, with the same effect as a signature "
    "on paper (ESIGN Act and UETA in the US; a simple electronic signature under eIDAS in the EU). "
    "I may ask for a paper copy at no charge, and I may withdraw this consent for future records by replying to "
    "the e-mail that brought me this link; withdrawing does not undo a signature already given. "
    "To keep a copy I need a device that can show web pages and PDF files; a copy is also e-mailed to me."
)
ACCEPT_BUTTON = "Accept and sign"
DECLINE_BUTTON = "Decline"
MAX_NAME, MAX_TITLE, MAX_REASON = 300, 300, 2000


@dataclass(frozen=True, slots=True)
class SigningForm:
    decision: str  # accept | decline
    signer_name: str
    signer_title: str
    consent: bool
    reason: str

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> SigningForm:
        return cls(
            decision=fields.get("decision", "").strip().lower(),
            signer_name=" ".join(fields.get("signer_name", "").split()),
            signer_title=" ".join(fields.get("signer_title", "").split()),
            consent=fields.get("consent", "").strip().lower() == "yes",
            reason=fields.get("reason", "").strip(),
        )


def form_problems(form: SigningForm) -> dict[str, str]:
    """Field -> what is wrong with it, in words for the signer; empty when the form may be recorded."""
    problems: dict[str, str] = {}
    if form.decision not in ("accept", "decline"):
        problems["decision"] = "Choose Accept or Decline."
        return problems
    if form.decision == "accept":
        if not form.signer_name:
            problems["signer_name"] = "Type your full name to sign."
        if not form.consent:
            problems["consent"] = "Tick the box to agree to sign electronically."
    if len(form.signer_name) > MAX_NAME:
        problems["signer_name"] = f"The name is longer than {MAX_NAME} characters."
    if len(form.signer_title) > MAX_TITLE:
        problems["signer_title"] = f"The title is longer than {MAX_TITLE} characters."
    if len(form.reason) > MAX_REASON:
        problems["reason"] = f"The reason is longer than {MAX_REASON} characters."
    return problems


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # same | added | removed | gap
    text: str


def text_changes(old: str, new: str, context: int = 2) -> list[DiffLine]:
    """What changed from `old` to `new`, line by line, with a little context around each change."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("gap", "\u2026"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine("same", line) for line in old_lines[i1:i2])
                continue
            if tag in ("replace", "delete"):
                lines.extend(DiffLine("removed", line) for line in old_lines[i1:i2])
            if tag in ("replace", "insert"):
                lines.extend(DiffLine("added", line) for line in new_lines[j1:j2])
    return lines
