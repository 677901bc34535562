"""Allowances benchmark: the hot check with and without an allowance (same server, same run), and
the rate of recorded uses with a count of the ledger afterwards (no lost or doubled entry).

    python -m benchmarks.allowances                                   # SQLite
    python -m benchmarks.allowances --database postgresql://postgres@127.0.0.1:5432/sg_bench_allowances

The seeded Gold plan gets an allowance of `remote_support` (incidents per month, overage allowed so
that no use is refused); `advanced_support` has none. The members first record uses through
`POST /v1/clients/{id}/usage` (wrk, a new idempotency key each), then the hot check alternates
between the two services for the same members, so the only difference is the allowance.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.run import RESULTS, ROOT, Load, Server, _recreate_pg, ensure_wrk, git_commit, parse_wrk, summarise, write_phones

USAGE_LUA = ROOT / "benchmarks" / "usage.lua"
ALLOWANCE = [{"service": "remote_support", "unit": "incidents", "amount_q": 4_000_000, "period": "month",
              "rollover_max_q": 0, "overage": "allow", "warn_at_pct": 80}]


def add_allowance(url: str) -> None:
    from service.storage import tables as t
    from service.storage.database import Database

    db = Database.connect(url, pool_size=1)
    with db.writer() as session:
        session.add(t.PlanAllowances(plan_code="bench_gold", allowances=ALLOWANCE, updated_at=datetime.now(UTC)))
        session.commit()
    db.dispose()


def ledger_counts(url: str, prefix: str) -> dict[str, Any]:
    """This run's ledger, in one statement (one snapshot): entries per key and the units their legs took."""
    from service.storage.database import Database

    db = Database.connect(url, pool_size=1)
    with db.reader() as session:
        rows = session.execute(sa.text(
            "SELECT u.idempotency_key, count(DISTINCT u.id), coalesce(sum(l.units_q), 0) FROM allowance_usage u"
            " LEFT JOIN allowance_legs l ON l.usage_id = u.id WHERE u.idempotency_key LIKE :p GROUP BY u.idempotency_key"),
            {"p": prefix + "-%"}).all()
    db.dispose()
    return {"per_key": {str(k): int(n) for k, n, _ in rows}, "units_q": sum(int(q) for _, _, q in rows)}


def record_uses(
    wrk: str, server: Server, key: str, clients_file: Path, connections: int, duration: int, run: str, keys_out: Path
) -> dict[str, Any]:
    env = {**os.environ, "BENCH_KEY": key, "BENCH_CLIENTS": str(clients_file), "BENCH_RUN": run, "BENCH_KEYS_OUT": str(keys_out)}
    command = [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(USAGE_LUA), server.url]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def check_cpu_cost(url: str, phones_file: Path, repeat: int = 5) -> dict[str, Any]:
    """The whole hot request in this process (the app's ASGI callable: the fast lane, auth, rate
    limit, decision, rendering, metrics, access log; no socket), timed in this thread's CPU time,
    which other processes on a busy machine do not move as they move wrk's figures."""
    import asyncio

    import orjson

    from benchmarks.seed import BENCH_KEY
    from service.api.app import create_app
    from service.settings import Settings

    app = create_app(Settings(database_url=url, log_level="WARNING", rate_limit_per_second=1_000_000,
                              rate_limit_burst=1_000_000))
    headers = [(b"authorization", f"Bearer {BENCH_KEY}".encode()), (b"content-type", b"application/json")]
    phones = [line for line in phones_file.read_text().split("\n") if line]

    async def call(body: bytes) -> None:
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200, message

        scope = {"type": "http", "method": "POST", "path": "/v1/entitlements/check", "query_string": b"", "headers": headers,
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "scheme": "http", "http_version": "1.1",
                 "root_path": ""}
        await app(scope, receive, send)

    async def measure() -> dict[str, list[float]]:
        bodies = {s: [orjson.dumps({"phone": p, "service": s}) for p in phones] for s in ("advanced_support", "remote_support")}
        cost: dict[str, list[float]] = {s: [] for s in bodies}
        async with app.router.lifespan_context(app):
            for service_bodies in bodies.values():  # fill the cache
                for body in service_bodies:
                    await call(body)
            for _ in range(repeat):
                for service, service_bodies in bodies.items():
                    started = time.thread_time()
                    for body in service_bodies:
                        await call(body)
                    cost[service].append((time.thread_time() - started) / len(service_bodies) * 1e6)
        return cost

    cost = asyncio.run(measure())
    without, with_ = statistics.median(cost["advanced_support"]), statistics.median(cost["remote_support"])
    return {"without_us": round(without, 1), "with_us": round(with_, 1), "ratio": round(with_ / without, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="")
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--hot-members", type=int, default=600)
    parser.add_argument("--usage-clients", type=int, default=200)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=3, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    from benchmarks.seed import BENCH_KEY, seed
    from service.storage.database import is_sqlite

    work = Path(tempfile.mkdtemp(prefix="sg-bench-allowances-"))
    url = args.database or f"sqlite:///{work / 'bench.db'}"
    backend = "sqlite" if is_sqlite(url) else "postgresql"
    if backend == "postgresql":
        _recreate_pg(url)
    seed(url, args.clients)
    add_allowance(url)
    rng = random.Random(11)
    members = [i for i in range(args.clients) if i % 3 == 0]
    hot = write_phones(work / "hot.txt", rng.sample(members, min(args.hot_members, len(members))))
    usage_clients = work / "usage-clients.txt"
    usage_clients.write_text("".join(f"cli_bench{i:08d}\n" for i in rng.sample(members, min(args.usage_clients, len(members)))))

    env = {"SUPPORTGATE_DATABASE_URL": url, "SUPPORTGATE_LOG_LEVEL": "INFO",
           "SUPPORTGATE_RATE_LIMIT_PER_SECOND": "1000000", "SUPPORTGATE_RATE_LIMIT_BURST": "1000000"}
    server = Server("service", "service.api.app:create_app", env)
    wrk = ensure_wrk()
    load = Load(wrk, args.connections, 1, args.duration, BENCH_KEY)
    report: dict[str, Any] = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_commit(),
                              "cores": os.cpu_count(), "database": backend, "clients": args.clients}
    server.start()
    try:
        run = f"r{int(time.time())}"
        keys_out = work / "answered.txt"
        uses = record_uses(wrk, server, BENCH_KEY, usage_clients, args.connections, args.duration, run, keys_out)
        answered = keys_out.read_text().split()
        time.sleep(1)  # the uses wrk sent last, whose answers it did not wait for, finish meanwhile
        ledger = ledger_counts(url, run)
        lost = sorted(set(answered) - set(ledger["per_key"]))
        doubled = sorted(k for k, n in ledger["per_key"].items() if n != 1)
        # wrk stops mid-flight: a use it sent last may be recorded with its answer never read (not lost).
        unread = len(set(ledger["per_key"]) - set(answered))
        report["usage"] = {**uses, "answered_2xx": len(answered), "entries": len(ledger["per_key"]), "lost": len(lost),
                           "doubled": len(doubled), "recorded_unread_at_stop": unread,
                           "units_match_entries": ledger["units_q"] == 4 * sum(ledger["per_key"].values())}
        print(f"uses: {uses['rps']:.0f}/s p50 {uses['p50_ms']:.1f} ms p99 {uses['p99_ms']:.1f} ms; "
              f"{len(answered)} answered 2xx, {len(ledger['per_key'])} entries, lost {len(lost)}, doubled {len(doubled)}, "
              f"recorded but unread at stop {unread}, units = entries: {report['usage']['units_match_entries']}, "
              f"{uses['errors']} errors", flush=True)

        runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
        for service in ("advanced_support", "remote_support"):
            os.environ["BENCH_SERVICE"] = service
            load.run(server, "post", hot, duration=2)  # warm-up: every member's state in the cache
        sides = [("advanced_support", "without"), ("remote_support", "with")]
        for round_ in range(args.rounds):
            for service, side in sides if round_ % 2 == 0 else sides[::-1]:  # ABBA: drift hits both sides alike
                os.environ["BENCH_SERVICE"] = service
                runs[side].append(load.run(server, "post", hot))
        without, with_ = summarise(runs["without"]), summarise(runs["with"])
        # A shared machine drifts between runs: each round's pair ran back to back, so the median of
        # the pairs' ratios is the figure least moved by it.
        pairs = sorted(w["rps"] / o["rps"] for w, o in zip(runs["with"], runs["without"], strict=True))
        report["hot"] = {"without": without, "with": with_, "rps_ratio": round(with_["rps"] / without["rps"], 3),
                         "median_pair_ratio": round(statistics.median(pairs), 3),
                         "p99_ratio": round(with_["p99_ms"] / without["p99_ms"], 3), "runs": runs}
        print(f"hot check without allowance {without['rps']:.0f}/s p99 {without['p99_ms']:.2f} ms; "
              f"with {with_['rps']:.0f}/s p99 {with_['p99_ms']:.2f} ms; ratio of medians {report['hot']['rps_ratio']}, "
              f"median of pair ratios {report['hot']['median_pair_ratio']}", flush=True)
    finally:
        server.stop()
    report["in_process"] = check_cpu_cost(url, hot)
    print(f"in-process CPU per hot request (ASGI, no socket): without {report['in_process']['without_us']} µs, "
          f"with {report['in_process']['with_us']} µs, ratio {report['in_process']['ratio']}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-allowances-{backend}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
