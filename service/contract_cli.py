"""`supportgate contract ...`: upload a draft version's document from a file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from service.errors import ServiceError
from service.settings import get_settings
from service.storage.database import Database
from service.usecases.contract_documents import CONTENT_TYPES, MARKDOWN, PDF, upload_document

contract_app = typer.Typer(help="Contract versions: upload a draft's document", no_args_is_help=True)
BY_SUFFIX = {".md": MARKDOWN, ".markdown": MARKDOWN, ".html": "text/html", ".htm": "text/html", ".pdf": PDF}


@contract_app.command("upload")
def upload(
    version: Annotated[str, typer.Argument(help="the draft version, e.g. 2026.1")],
    file: Annotated[Path, typer.Argument(help="a .md, .html or .pdf file (at most 5 MiB)", exists=True, dir_okay=False)],
    content_type: Annotated[
        Optional[str], typer.Option(help=f"one of {', '.join(CONTENT_TYPES)}; default: from the file's suffix")  # noqa: UP045
    ] = None,
) -> None:
    """Store the document of a draft version, like PUT /v1/contracts/{version}/document (its SHA-256 must match)."""
    kind = content_type or BY_SUFFIX.get(file.suffix.lower())
    if kind is None:
        typer.echo(f"error: cannot tell the content type of {file.name}: pass --content-type", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    db = Database.connect(settings.database_url, pool_size=1)
    try:
        with db.writer() as session:
            try:
                row = upload_document(session, version=version, content_type=kind, body=file.read_bytes(), actor="cli",
                                      now=datetime.now(UTC))
            except ServiceError as exc:
                typer.echo(f"error: {exc.detail}", err=True)
                raise typer.Exit(1) from None
            session.commit()
            typer.echo(f"{version}: {row.content_type}, {row.size} bytes, sha256 {row.sha256}")
    finally:
        db.dispose()
