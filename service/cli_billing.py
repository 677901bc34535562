"""`supportgate billing sync [--dry-run]`: the reconciliation with Stripe, with a progress bar and a table of changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from service.errors import ServiceError
from service.settings import get_settings
from service.storage.database import Database

if TYPE_CHECKING:
    from rich.console import Console

    from service.usecases.billing_sync import SyncReport

billing_app = typer.Typer(help="Billing (Stripe): reconcile memberships with subscriptions", no_args_is_help=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _label(side: dict[str, object] | None) -> str:
    if side is None:
        return "—"
    end = str(side.get("current_period_end") or "")[:10]
    return f"{side['plan']} / {side['status']}" + (f" (until {end})" if end else "")


def print_report(console: Console, report: SyncReport) -> None:
    from rich.table import Table  # heavy: rich, for this command only

    table = Table(title="Memberships that differ from Stripe" + (" (dry run: nothing changed)" if report.dry_run else ""))
    for column in ("client", "subscription", "from", "to"):
        table.add_column(column)
    for change in report.changed:
        table.add_row(change.client_id, change.subscription, _label(change.before), _label(change.after))
    console.print(table)
    for item in report.unmatched:
        console.print(f"[yellow]unmatched[/yellow] {item['subscription']}: {item['detail']}")
    verb = "would change" if report.dry_run else "changed"
    console.print(f"checked {report.checked} subscriptions; {verb} {len(report.changed)} memberships; "
                  f"{len(report.unmatched)} unmatched")


@billing_app.command("sync")
def sync(dry_run: Annotated[bool, typer.Option("--dry-run", help="print the changes, change nothing")] = False) -> None:
    """List every Stripe subscription and correct each membership that differs, printing each change."""
    # Imported here: the stripe package alone takes most of a second, which no other command should pay.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from service.usecases.billing_sync import run_sync, stripe_client

    settings = get_settings()
    console = Console()
    db = Database.connect(settings.database_url, pool_size=2)
    try:
        client = stripe_client(settings)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=False) as bar:
            listing = bar.add_task("listing subscriptions", total=None)
            applying = bar.add_task("comparing memberships", total=None, visible=False)

            def progress(done: int, total: int | None) -> None:
                if total is None:
                    bar.update(listing, completed=done)
                else:
                    bar.update(listing, total=bar.tasks[listing].completed or 1, completed=bar.tasks[listing].completed)
                    bar.update(applying, visible=True, completed=done, total=total)

            report = run_sync(db, client, dry_run=dry_run, trigger="cli", clock=_now, progress=progress)
    except ServiceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    print_report(console, report)
