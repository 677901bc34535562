"""Contract fuzzing, run by `make test`: schemathesis against a live server, every operation of its
own OpenAPI document (new routes are picked up by themselves), with an admin key.

The server runs on a fresh PostgreSQL database (SQLite when no PostgreSQL answers and it is not
required) loaded with the demo data, so that generated requests meet real clients and contracts.
Exits non-zero unless schemathesis passes and its summary shows every operation tested.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("SUPPORTGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("SUPPORTGATE_TEST_REQUIRE_POSTGRES") == "1"
METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_admin() -> sa.Engine | None:
    from service.storage.database import normalize_url

    engine = sa.create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception:
        engine.dispose()
        if REQUIRE_PG:
            raise SystemExit(f"PostgreSQL is required but {PG_URL} does not answer") from None
        return None
    return engine


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before it was ready")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server was not ready in time")


def main() -> int:
    admin = pg_admin()
    tmp = Path(tempfile.mkdtemp(prefix="sg-fuzz-"))
    db_name = f"sg_fuzz_{uuid.uuid4().hex[:10]}"
    if admin is not None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
        url = sa.engine.make_url(PG_URL).set(database=db_name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp / 'fuzz.db'}"
    key = "fuzz-" + secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "SUPPORTGATE_DATABASE_URL": url,
        "SUPPORTGATE_BOOTSTRAP_ADMIN_KEY": key,
        "SUPPORTGATE_FUZZ_ADMIN_KEY": key,
        "SUPPORTGATE_LOG_LEVEL": "WARNING",
        "SUPPORTGATE_RATE_LIMIT_PER_SECOND": "0",  # the fuzzer is one busy client; limits have their own test
        # Webhook endpoints switched on (unset, they answer 404 before verifying anything).
        "SUPPORTGATE_DOCUSIGN_HMAC_KEYS": secrets.token_urlsafe(24),
        "SUPPORTGATE_DROPBOX_SIGN_API_KEY": secrets.token_urlsafe(24),
        "SUPPORTGATE_PANDADOC_WEBHOOK_KEY": secrets.token_urlsafe(24),
        "SUPPORTGATE_STANDARD_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        "SUPPORTGATE_ADOBE_SIGN_CLIENT_IDS": "fuzz-adobe-client",
        "SUPPORTGATE_ZENDESK_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "SUPPORTGATE_ZENDESK_API_URL": "http://127.0.0.1:9",  # nothing listens: deliveries stay queued
        "SUPPORTGATE_ZENDESK_EMAIL": "fuzz@example.com",
        "SUPPORTGATE_ZENDESK_API_TOKEN": secrets.token_urlsafe(24),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([sys.executable, "-m", "service.cli", "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--no-migrate"], env=env,
            stdout=(tmp / "server.log").open("wb"), stderr=subprocess.STDOUT,
        )
        wait_ready(base, server)
        with urllib.request.urlopen(f"{base}/openapi.json", timeout=5) as answer:
            document = orjson.loads(answer.read())
        operations = sum(1 for item in document["paths"].values() for method in item if method in METHODS)
        schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
        command = [schemathesis, "--no-color", "--config-file", str(HERE / "schemathesis.toml"), "run", f"{base}/openapi.json"]
        print(f"contract fuzzing: {operations} operations at {base} ({'PostgreSQL' if admin else 'SQLite'})", flush=True)
        run = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(run.stdout, flush=True)
        selected = re.search(r"Selected:\s*(\d+)/(\d+)", run.stdout)
        tested = re.search(r"Tested:\s*(\d+)", run.stdout)
        problems = []
        if run.returncode != 0:
            problems.append(f"schemathesis exited with {run.returncode}")
        if not selected or not tested or int(tested.group(1)) != operations or int(selected.group(1)) != operations:
            problems.append(f"not every operation was exercised (document has {operations})")
        if server.poll() is not None:
            problems.append("the server died during the run")
        if problems:
            print("contract fuzzing FAILED: " + "; ".join(problems), flush=True)
            print((tmp / "server.log").read_text(errors="replace")[-5000:], flush=True)
            return 1
        print(f"contract fuzzing passed: {operations}/{operations} operations exercised, 0 failures", flush=True)
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
