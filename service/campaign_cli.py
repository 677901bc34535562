"""`supportgate campaign …`: create, start, pause, resume, status, and one scheduler pass by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from service.errors import ServiceError
from service.settings import get_settings
from service.storage.database import Database
from service.usecases import campaigns as uc
from service.usecases import catalog as catalog_uc
from service.usecases.campaign_mail import Templates
from service.usecases.campaign_scheduler import policy_of, run_pass
from service.usecases.mail import deliver_due_mail

campaign_app = typer.Typer(help="Contract campaigns: the first message and reminders by e-mail", no_args_is_help=True)
ACTOR = "cli"


def _db() -> Database:
    return Database.connect(get_settings().database_url, pool_size=2)


def _fail(error: ServiceError) -> None:
    typer.echo(f"error: {error.detail}", err=True)
    raise typer.Exit(1)


def _days(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        typer.echo("error: --reminder-days takes whole numbers separated by commas, e.g. 14,7,2,0", err=True)
        raise typer.Exit(2) from None


def _print(db: Database, campaign_id: str | None) -> None:
    now = datetime.now(UTC)
    with db.reader() as session:
        catalog = catalog_uc.load_catalog(session, policy_of(get_settings()))
        rows = [uc.get_row(session, campaign_id)] if campaign_id else list(uc.campaign_page(session, limit=100, after=None))
        if not rows:
            typer.echo("no campaign yet")
        for row in rows:
            counts = uc.counts(uc.recipients(session, catalog, row, now))
            figures = " ".join(f"{name}={counts[name]}" for name in uc.COUNT_NAMES)
            typer.echo(f"{row.id}  {row.status:<8} {row.contract_version:<10} {row.name}  {figures}")


@campaign_app.command("create")
def create(
    version: Annotated[str, typer.Option("--version", help="the contract version to roll out")],
    name: Annotated[str | None, typer.Option(help="a name for the dashboard")] = None,
    reminder_days: Annotated[str, typer.Option(help="days before each client's deadline, comma-separated")] = "14,7,2,0",
    include_declined: Annotated[bool, typer.Option(help="also write to clients who declined")] = False,
    from_address: Annotated[str | None, typer.Option(help="From: of the mail (default SUPPORTGATE_MAIL_FROM)")] = None,
    start: Annotated[bool, typer.Option("--start", help="start it at once")] = False,
) -> None:
    """Create a campaign (a draft, or running with --start); prints its id."""
    db = _db()
    now = datetime.now(UTC)
    try:
        with db.writer() as session:
            row = uc.create_campaign(session, contract_version=version, name=name, reminder_days=_days(reminder_days),
                                     include_declined=include_declined, from_address=from_address, reply_to=None,
                                     templates=Templates(), actor=ACTOR, now=now)
            if start:
                uc.move(session, catalog_uc.load_catalog(session, policy_of(get_settings())), row.id, "start",
                        actor=ACTOR, now=now)
            session.commit()
            typer.echo(row.id)
    except ServiceError as exc:
        _fail(exc)
    finally:
        db.dispose()


def _move(campaign_id: str, action: str) -> None:
    db = _db()
    try:
        with db.writer() as session:
            catalog = catalog_uc.load_catalog(session, policy_of(get_settings()))
            uc.move(session, catalog, campaign_id, action, actor=ACTOR, now=datetime.now(UTC))
            session.commit()
        _print(db, campaign_id)
    except ServiceError as exc:
        _fail(exc)
    finally:
        db.dispose()


@campaign_app.command("start")
def start_cmd(campaign_id: str) -> None:
    """Start a draft: the first messages go at the scheduler's next pass."""
    _move(campaign_id, "start")


@campaign_app.command("pause")
def pause_cmd(campaign_id: str) -> None:
    """Pause: nothing is sent until resumed."""
    _move(campaign_id, "pause")


@campaign_app.command("resume")
def resume_cmd(campaign_id: str) -> None:
    """Resume a paused campaign."""
    _move(campaign_id, "resume")


@campaign_app.command("status")
def status_cmd(campaign_id: Annotated[str | None, typer.Argument(help="one campaign (default: all)")] = None) -> None:
    """Each campaign's state and counts (targeted, messages_sent, opened, signed, declined, bounced, …)."""
    db = _db()
    try:
        _print(db, campaign_id)
    except ServiceError as exc:
        _fail(exc)
    finally:
        db.dispose()


@campaign_app.command("send-due")
def send_due() -> None:
    """One scheduler pass and one mail delivery pass now (what the job does every interval)."""
    settings = get_settings()
    db = _db()
    try:
        now = datetime.now(UTC)
        queued = run_pass(db, settings, now)
        delivered = deliver_due_mail(db, settings, now)
        typer.echo(f"steps queued: {queued}; mail delivery attempts: {delivered}")
    finally:
        db.dispose()
