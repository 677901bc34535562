"""Request and response models of the campaign routes, each answer with its mapping beside it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from service.api.schemas.common import Int, Page, Strict
from service.storage import tables as t
from service.text import MULTI_LINE, SINGLE_LINE
from service.usecases.campaigns import COUNT_NAMES, RecipientView, StepView

TEMPLATE_MAX = 100_000
Address = Field(None, min_length=3, max_length=320)


class CampaignIn(Strict):
    contract_version: str = Field(pattern=SINGLE_LINE, min_length=1, max_length=64)
    name: str | None = Field(None, pattern=SINGLE_LINE, min_length=1, max_length=200)
    reminder_days: list[Int] | None = Field(None, max_length=20, description="days before each client's own deadline")
    include_declined: bool = False
    from_address: str | None = Address
    reply_to: str | None = Address
    subject_template: str | None = Field(None, pattern=SINGLE_LINE, min_length=1, max_length=2000)
    text_template: str | None = Field(None, pattern=MULTI_LINE, min_length=1, max_length=TEMPLATE_MAX)
    html_template: str | None = Field(None, pattern=MULTI_LINE, min_length=1, max_length=TEMPLATE_MAX)


class PreviewIn(Strict):
    client_id: str = Field(pattern=SINGLE_LINE, min_length=1, max_length=40)


class Counts(BaseModel):
    targeted: int = 0
    messages_sent: int = 0
    opened: int = 0
    signed: int = 0
    declined: int = 0
    bounced: int = 0
    unsubscribed: int = 0
    waiting: int = 0


class CampaignOut(BaseModel):
    id: str
    name: str
    contract_version: str
    status: Literal["draft", "running", "paused", "finished"]
    reminder_days: list[int]
    include_declined: bool
    from_address: str | None
    reply_to: str | None
    subject_template: str | None
    text_template: str | None
    html_template: str | None
    created_at: datetime
    started_at: datetime | None
    paused_at: datetime | None
    finished_at: datetime | None
    counts: Counts

    @classmethod
    def from_row(cls, row: t.Campaign, counts: dict[str, int]) -> CampaignOut:
        return cls(
            id=row.id, name=row.name, contract_version=row.contract_version, status=row.status,
            reminder_days=list(row.reminder_days), include_declined=row.include_declined, from_address=row.from_address,
            reply_to=row.reply_to, subject_template=row.subject_template, text_template=row.text_template,
            html_template=row.html_template, created_at=row.created_at, started_at=row.started_at,
            paused_at=row.paused_at, finished_at=row.finished_at,
            counts=Counts(**{k: counts.get(k, 0) for k in COUNT_NAMES}),
        )


class CampaignPage(Page):
    items: list[CampaignOut]


class StepOut(BaseModel):
    step: str
    due_at: datetime | None
    sent_at: datetime | None
    message_id: str | None
    mail_status: str | None = Field(None, description="the mail outbox's state: queued, sending, sent, retrying, bounced, failed")

    @classmethod
    def from_view(cls, view: StepView) -> StepOut:
        return cls(step=view.step, due_at=view.due_at, sent_at=view.sent_at, message_id=view.message_id,
                   mail_status=view.mail_status)


class RecipientOut(BaseModel):
    client_id: str
    client_name: str
    email: str
    status: Literal["waiting", "sent", "opened", "signed", "declined", "bounced", "unsubscribed"]
    steps: list[StepOut]

    @classmethod
    def from_view(cls, view: RecipientView) -> RecipientOut:
        return cls(client_id=view.client_id, client_name=view.client_name, email=view.email,
                   status=view.status, steps=[StepOut.from_view(s) for s in view.steps])


class RecipientPage(Page):
    items: list[RecipientOut]


class LetterOut(BaseModel):
    subject: str
    text: str
    html: str
