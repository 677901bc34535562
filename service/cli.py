"""The `supportgate` command: serve, worker, migrate, keys, import, check, openapi, demo, db copy."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Optional

import typer

from service import demo_campaign
from service.campaign_cli import campaign_app
from service.cli_billing import billing_app
from service.contract_cli import contract_app
from service.demo import load_demo
from service.errors import ServiceError
from service.logs import configure_logging
from service.settings import Settings, get_settings
from service.storage.database import Database
from service.usecases.keys import create_key, list_keys, revoke_key

# Imports inside a command are the heavy ones only that command needs (the ASGI app with every route,
# uvicorn, Alembic, rich, the job kinds with the Stripe client): with the app alone, importing this
# module takes more than twice as long, and `supportgate --help` or `keys list` should not pay for it.

app = typer.Typer(help="supportgate: support-desk gating service", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(campaign_app, name="campaign")
app.add_typer(contract_app, name="contract")
app.add_typer(billing_app, name="billing")


def _now() -> datetime:
    return datetime.now(UTC)


def _database(settings: Settings) -> Database:
    return Database.connect(settings.database_url, pool_size=2)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from service.storage.migrate import upgrade  # heavy: Alembic

    settings = get_settings()
    upgrade(settings.database_url)
    typer.echo("database is up to date")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate", help="apply migrations before serving")] = True,
) -> None:
    """Apply pending migrations, then serve the API with uvicorn."""
    # heavy: the server and Alembic
    import uvicorn

    from service.storage.migrate import upgrade

    settings = get_settings()
    if migrate_first:
        upgrade(settings.database_url)
    uvicorn.run(
        "service.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning",
        access_log=False, timeout_graceful_shutdown=20, proxy_headers=True,
    )


@app.command()
def demo() -> None:
    """Load demo data (plans, contract versions, five clients in every state). Idempotent."""
    from service.storage.migrate import upgrade  # heavy: Alembic

    settings = get_settings()
    upgrade(settings.database_url)
    db = _database(settings)
    try:
        with db.writer() as session:
            loaded = load_demo(session, _now(), settings.default_region)
            if loaded:  # the rollout: a running campaign whose first messages are mailed at once
                demo_campaign.start_campaign(session, settings, "2026.1", _now())
            session.commit()
        if loaded:
            queued = demo_campaign.send_first_messages(db, settings, _now())
            typer.echo(f"demo campaign started: {queued} first messages written to {settings.mail_dir}"
                       if not settings.smtp_url else f"demo campaign started: {queued} first messages queued")
    finally:
        db.dispose()
    typer.echo("demo data loaded" if loaded else "demo data present already")


def _lifetime(text: str) -> timedelta:
    """`90` (days), `90d`, `12h` or `30m`; never zero or negative (that would be a key that never works)."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhm]?)\s*", text)
    if not match or int(match.group(1)) == 0:
        _fail(f"--expires-in wants a positive lifetime such as 90, 90d, 12h or 30m, not {text!r}", 2)
        raise AssertionError  # unreachable: _fail exits
    amount, unit = int(match.group(1)), match.group(2) or "d"
    return timedelta(days=amount) if unit == "d" else timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="a name for the key (logged instead of the key)")],
    scope: Annotated[list[str], typer.Option(help="entitlements:check, clients:read, clients:write or admin")],
    expires_in: Annotated[
        Optional[str], typer.Option(help="lifetime: days (90), or with a unit: 90d, 12h, 30m")  # noqa: UP045
    ] = None,
) -> None:
    """Create a key and print it once."""
    settings = get_settings()
    db = _database(settings)
    try:
        with db.writer() as session:
            now = _now()
            expires = now + _lifetime(expires_in) if expires_in is not None else None
            try:
                _row, secret = create_key(session, name=name, scopes=scope, expires_at=expires, actor="cli", now=now)
            except ServiceError as exc:
                _fail(exc.detail)
            session.commit()
    finally:
        db.dispose()
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (names, scopes, state; never the keys)."""
    db = _database(get_settings())
    try:
        with db.reader() as session:
            now = _now()
            for row in list_keys(session):
                state = "revoked" if row.revoked_at else ("expired" if row.expires_at and row.expires_at <= now else "active")
                expires = row.expires_at.isoformat() if row.expires_at else "never"
                typer.echo(f"{row.name}\t{','.join(row.scopes)}\t{state}\t{row.prefix}…\texpires {expires}")
    finally:
        db.dispose()


@keys_app.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke a key by name; it stops working at once."""
    db = _database(get_settings())
    try:
        with db.writer() as session:
            try:
                revoke_key(session, name=name, actor="cli", now=_now())
            except ServiceError as exc:
                _fail(exc.detail)
            session.commit()
    finally:
        db.dispose()
    typer.echo(f"revoked {name}")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="a .csv or .json file", exists=True, dir_okay=False)],
    dry_run: Annotated[bool, typer.Option(help="validate only")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON instead of tables")] = False,
) -> None:
    """Bulk upsert clients from CSV or JSON, like POST /v1/clients/import: run as a job, with a progress bar."""
    # heavy: rich, and the job runner with every job kind
    from rich.console import Console

    from service.cli_import import errors_table, result_table, run_import

    settings = get_settings()
    console = Console(stderr=as_json)
    try:
        status, result, error = run_import(settings, file, dry_run=dry_run, console=console)
    except ServiceError as exc:
        _fail(exc.detail)
    if status != "succeeded" or result is None:
        _fail(f"the import failed: {error}")
        return
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console.print(result_table(result))
    if result["errors"]:
        console.print(errors_table(result["errors"]))


@app.command()
def check(
    service: Annotated[str, typer.Argument(help="service code, e.g. advanced_support")],
    phone: Annotated[Optional[str], typer.Option(help="caller's phone, any format")] = None,  # noqa: UP045
    email: Annotated[Optional[str], typer.Option(help="e-mail (falls back to its domain)")] = None,  # noqa: UP045
    id: Annotated[Optional[str], typer.Option("--id", help="client id")] = None,  # noqa: UP045
    as_json: Annotated[bool, typer.Option("--json", help="print the full JSON decision")] = False,
) -> None:
    """Print the decision for a client, as a technician would want it at a terminal."""
    # heavy: the app's module (the policy as the app builds it) and the API's answer shape
    from service.api.app import policy_from
    from service.api.schemas.checks import decision_out
    from service.cache import StateCache
    from service.usecases.checks import make_ref, run_check

    settings = get_settings()
    db = _database(settings)
    try:
        cache = StateCache(db, policy_from(settings), max_clients=10, staleness=1)
        try:
            ref = make_ref(client_id=id, email=email, phone=phone, region=settings.default_region)
            result = run_check(cache, ref, service, now=_now(), at=None, allow_io=True)
        except ServiceError as exc:
            _fail(exc.detail, 2)
    finally:
        db.dispose()
    body = decision_out(result)
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    client = body["client"]
    typer.echo(f"{'ALLOWED' if body['allowed'] else 'REFUSED'}  {body['service']}")
    typer.echo(f"client    {client['name'] + ' (' + client['id'] + ')' if client else 'unknown caller'}")
    contract = body["contract"]
    typer.echo(f"contract  {contract['status']}  current {contract['current_version'] or '-'}  "
               f"signed {contract['signed_version'] or '-'}  grace until {contract['grace_until'] or '-'}")
    membership = body["membership"]
    typer.echo(f"tier      {membership['plan'] or 'none'} (rank {membership['rank']})")
    typer.echo(f"routing   {body['routing']['priority']} / {body['routing']['queue']}   "
               f"SLA {body['sla']['first_response_minutes']} min, on-site {body['sla']['onsite_response_hours']} h")
    for reason in body["reasons"]:
        typer.echo(f"reason    {reason['code']}: {reason['detail']}")
    for plan in body["upsell"]:
        price = plan["monthly_price"]
        typer.echo(f"offer     {plan['name']} ({plan['code']}) {price['amount_minor'] / 100:.2f} {price['currency']}/month")


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Option("--from", help="database URL to copy from, e.g. sqlite:///supportgate.db")],
    target: Annotated[str, typer.Option("--to", help="database URL to copy into (migrated here; must hold no data)")],
) -> None:
    """Copy every table to another database (e.g. SQLite to PostgreSQL), verified by counts and checksums."""
    from service.storage.copy import CopyRefused, copy_database  # heavy: Alembic (the target is migrated)

    try:
        report = copy_database(source, target)
    except CopyRefused as exc:
        _fail(str(exc))
    width = max(len(r.table) for r in report)
    for r in report:
        mark = "ok" if r.verified else "MISMATCH"
        typer.echo(f"{r.table:<{width}}  {r.source_rows:>9} -> {r.target_rows:<9}  sha256 {r.target_checksum[:16]}  {mark}")
    if not all(r.verified for r in report):
        _fail("the copy does not match the source (see MISMATCH above)")
    typer.echo(f"copied and verified {sum(r.target_rows for r in report)} rows in {len(report)} tables")


@app.command()
def worker(
    kind: Annotated[Optional[list[str]], typer.Option(help="only these job kinds (default: every kind)")] = None,  # noqa: UP045
    nice: Annotated[int, typer.Option(help="lower this process's CPU priority by this much (beside a server on one host)")] = 0,
) -> None:
    """Run background jobs in this process alone (for SUPPORTGATE_JOBS_EMBEDDED=false deployments); stops on SIGTERM."""
    from service.usecases.job_runner import JobRunner  # heavy: every job kind, the Stripe client among them

    settings = get_settings()
    configure_logging(settings.log_level)
    if nice:
        os.nice(nice)
    db = _database(settings)
    runner = JobRunner(db, settings, kinds=kind or None)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stopping.set())
    runner.start()
    typer.echo(f"worker {runner.worker_id} running", err=True)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        runner.stop()
        db.dispose()


@app.command()
def openapi(
    output: Annotated[Path, typer.Option(help="where to write the document")] = Path("openapi/openapi.json"),
) -> None:
    """Write the app's OpenAPI document."""
    from service.api.openapi_file import render_openapi  # heavy: the whole app

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi())
    typer.echo(f"wrote {output}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
