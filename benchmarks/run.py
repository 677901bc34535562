"""One command for the benchmark: seed, start the service and the bare FastAPI baseline under the same
uvicorn settings, drive both with wrk (alternating), print req/s, p50, p99, RSS and the ratio, and
write the figures as JSON under benchmarks/results/.

    python -m benchmarks.run                                 # SQLite, 10 k clients, every scenario
    python -m benchmarks.run --scenarios hot --duration 15
    python -m benchmarks.run --database postgresql://postgres@127.0.0.1:5432/sg_bench --clients 1000000

See benchmarks/README.md for what each scenario measures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LUA = ROOT / "benchmarks" / "check.lua"
SCENARIOS = ("hot", "cold", "get", "batch", "import", "coverage", "webhook", "import-load", "webhook-load")


# ---- parsing and summarising (unit-tested: tests/benchmarks) ------------------------------------
def parse_wrk(output: str) -> dict[str, Any]:
    """The BENCHJSON line printed by check.lua's done(), as req/s and milliseconds."""
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            raw = json.loads(line[len("BENCHJSON "):])
            seconds = raw["duration_us"] / 1e6
            errors = raw["errors"]
            return {
                "requests": raw["requests"],
                "rps": raw["requests"] / seconds if seconds else 0.0,
                "p50_ms": raw["p50_us"] / 1000,
                "p90_ms": raw["p90_us"] / 1000,
                "p99_ms": raw["p99_us"] / 1000,
                "max_ms": raw["max_us"] / 1000,
                "errors": sum(errors.values()),
                "non_2xx": errors["status"],
            }
    raise ValueError("wrk printed no BENCHJSON line (is benchmarks/check.lua in use?)\n" + output[-2000:])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of the runs of one side (robust to one run disturbed by the other process)."""
    out: dict[str, Any] = {}
    for name in ("rps", "p50_ms", "p90_ms", "p99_ms", "rss_mb"):
        values = [r[name] for r in runs if name in r]
        if values:
            out[name] = round(statistics.median(values), 3)
    out["errors"] = sum(r.get("errors", 0) for r in runs)
    out["runs"] = len(runs)
    return out


def compare(service: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float]:
    return {
        "rps_ratio": round(service["rps"] / baseline["rps"], 3) if baseline.get("rps") else 0.0,
        "p99_ratio": round(service["p99_ms"] / baseline["p99_ms"], 3) if baseline.get("p99_ms") else 0.0,
    }


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn --workers N), in MiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


# ---- processes ---------------------------------------------------------------------------------
def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing the Debian package", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*prefix, "apt-get", "install", "-y", "wrk"], check=False)
    if not shutil.which("wrk"):
        subprocess.run([*prefix, "apt-get", "update"], check=True)
        subprocess.run([*prefix, "apt-get", "install", "-y", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    target: str
    env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    log_path: Path = field(default_factory=lambda: Path(tempfile.mkstemp(prefix="sg-bench-", suffix=".log")[1]))
    process: subprocess.Popen[bytes] | None = None
    log: Any = None

    def start(self) -> None:
        # Identical uvicorn settings for the service and the baseline.
        command = [
            sys.executable, "-m", "uvicorn", self.target, "--factory", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning",
        ]
        # The service's JSON access log goes to a file, as a deployment's log shipper would take it.
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **self.env}, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.log_path.read_text(errors="replace")
                raise RuntimeError(f"{self.name} exited at start:\n{err[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start within 60 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.log.close()
        self.process = None

    def rss(self) -> float:
        return rss_mb(self.process.pid) if self.process else 0.0


@dataclass
class Load:
    wrk: str
    connections: int
    threads: int
    duration: int
    key: str

    def run(self, server: Server, mode: str, phones: Path, duration: int | None = None) -> dict[str, Any]:
        env = {**os.environ, "BENCH_MODE": mode, "BENCH_PHONES": str(phones), "BENCH_KEY": self.key}
        command = [
            self.wrk, f"-t{self.threads}", f"-c{self.connections}", f"-d{duration or self.duration}s", "--timeout", "10s",
            "-s", str(LUA), server.url,
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        result = parse_wrk(done.stdout)
        result["rss_mb"] = server.rss()
        return result


WEBHOOK_SECRET = "whsec_" + "YmVuY2gtc3RhbmRhcmQtd2ViaG9va3Mtc2VjcmV0IQ=="


def write_deliveries(path: Path, clients: int, count: int) -> Path:
    """`count` Standard Webhooks deliveries (contract.signed for seeded clients), signed now: one a line."""
    from standardwebhooks.webhooks import Webhook

    from benchmarks.seed import CONTRACT

    signer = Webhook(WEBHOOK_SECRET)
    now = datetime.now(UTC)
    lines = []
    for k in range(count):
        body = json.dumps({"type": "contract.signed", "timestamp": now.isoformat(), "data": {
            "client_id": f"cli_bench{k % clients:08d}", "contract_version": CONTRACT, "envelope_id": f"env-bench-{k}",
            "signer_name": "Bench Signer", "signed_at": now.isoformat()}})
        msg_id = f"msg_bench_{k}_{int(now.timestamp())}"
        lines.append(f"{msg_id}\t{int(now.timestamp())}\t{signer.sign(msg_id, now, body)}\t{body}\n")
    path.write_text("".join(lines))
    return path


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_phones(path: Path, indices: list[int]) -> Path:
    from benchmarks.seed import dialled_phone_of

    path.write_text("".join(dialled_phone_of(i) + "\n" for i in indices))
    return path


# ---- scenarios ---------------------------------------------------------------------------------
def alternate(load: Load, baseline: Server, service: Server, mode: str, phones: Path, rounds: int) -> dict[str, Any]:
    """Warm both, then baseline and service runs in turn: drift in the machine hits both sides."""
    load.run(baseline, mode, phones, duration=3)
    load.run(service, mode, phones, duration=3)
    base_runs: list[dict[str, Any]] = []
    service_runs: list[dict[str, Any]] = []
    for _ in range(rounds):
        base_runs.append(load.run(baseline, mode, phones))
        service_runs.append(load.run(service, mode, phones))
    base, serv = summarise(base_runs), summarise(service_runs)
    return {"baseline": base, "service": serv, **compare(serv, base), "rounds": {"baseline": base_runs, "service": service_runs}}


def print_row(name: str, figures: dict[str, Any]) -> None:
    b, s = figures["baseline"], figures["service"]
    print(f"{name:<10} baseline {b['rps']:>9.0f} req/s  p50 {b['p50_ms']:>6.2f} ms  p99 {b['p99_ms']:>6.2f} ms  "
          f"RSS {b.get('rss_mb', 0):>6.1f} MiB", flush=True)
    print(f"{'':<10} service  {s['rps']:>9.0f} req/s  p50 {s['p50_ms']:>6.2f} ms  p99 {s['p99_ms']:>6.2f} ms  "
          f"RSS {s.get('rss_mb', 0):>6.1f} MiB   ratio {figures['rps_ratio']:.2f} (req/s), p99 x{figures['p99_ratio']:.2f}"
          f"{'   ERRORS ' + str(s['errors']) if s['errors'] else ''}", flush=True)


def timed_import(url: str, rows: int, start: int) -> dict[str, Any]:
    from benchmarks.seed import csv_text
    from service.storage.database import Database
    from service.usecases import importer

    text = csv_text(start, rows)
    db = Database.connect(url, pool_size=1)
    try:
        began = time.perf_counter()
        parsed, errors = importer.rows_from_csv(text)
        with db.writer() as session:
            result = importer.import_clients(
                session, parsed, region="US", dry_run=False, actor="bench", now=datetime.now(UTC), errors=errors
            )
            session.commit()
        seconds = time.perf_counter() - began
    finally:
        db.dispose()
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds, 1),
            "created": result.created, "errors": len(result.errors)}


def timed_coverage(service: Server, key: str, times: int = 7) -> dict[str, Any]:
    took: list[float] = []
    for _ in range(times):
        request = urllib.request.Request(f"{service.url}/v1/reports/coverage", headers={"Authorization": f"Bearer {key}"})
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
        took.append((time.perf_counter() - began) * 1000)
    return {"median_ms": round(statistics.median(took), 1), "max_ms": round(max(took), 1), "times": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="", help="SQLAlchemy URL; default a fresh SQLite file in a temp dir")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--no-seed", action="store_true", help="reuse an already seeded database")
    parser.add_argument("--scenarios", default="hot,cold,get,batch,coverage,import,webhook")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=1, help="1 on a 2-core machine: one core for wrk, one for the server")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers for both apps")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating baseline/service runs per scenario")
    parser.add_argument("--hot-clients", type=int, default=1000, help="distinct clients in the hot scenarios")
    parser.add_argument("--cache-size", type=int, default=100_000, help="SUPPORTGATE_CACHE_MAX_CLIENTS for hot runs")
    parser.add_argument("--cold-cache-size", type=int, default=1000, help="cache size in the cold run (< clients: every request misses)")
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--load-import-rows", type=int, default=50_000, help="rows of the CSV imported in import-load")
    parser.add_argument("--load-seconds", type=int, default=25, help="import-load: length of the check load beside the import")
    parser.add_argument("--worker-nice", type=int, default=10, help="import-load --jobs-in worker: the worker's nice value")
    parser.add_argument("--jobs-in", choices=("embedded", "worker"), default="embedded",
                        help="import-load: jobs in the service's own runner thread, or in a `supportgate worker` process")
    parser.add_argument("--webhook-deliveries", type=int, default=30_000, help="distinct signed deliveries to play")
    parser.add_argument("--burst-deliveries", type=int, default=2_000, help="webhook-load: signed deliveries in the burst")
    parser.add_argument("--burst-senders", type=int, default=4, help="webhook-load: deliveries sent at a time")
    parser.add_argument("--label", default="", help="added to the result file's name")
    args = parser.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")

    from benchmarks.seed import BENCH_KEY, seed
    from service.storage.database import is_sqlite

    work = Path(tempfile.mkdtemp(prefix="sg-bench-"))
    url = args.database or f"sqlite:///{work / 'bench.db'}"
    backend = "sqlite" if is_sqlite(url) else "postgresql"
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_commit(), "cores": os.cpu_count(),
        "python": sys.version.split()[0], "database": backend, "clients": args.clients,
        "load": {"tool": "wrk", "connections": args.connections, "threads": args.wrk_threads, "duration_s": args.duration,
                 "rounds": args.rounds},
        "server": {"uvicorn_workers": args.workers, "loop": "uvloop", "http": "httptools", "access_log": False},
        "scenarios": {},
    }
    if not args.no_seed:
        if backend == "postgresql":
            _recreate_pg(url)
        print(f"seeding {args.clients} clients into {backend} ...", flush=True)
        seconds = seed(url, args.clients)
        report["seed_seconds"] = round(seconds, 1)
        print(f"seeded in {seconds:.1f} s", flush=True)

    wrk = ensure_wrk()
    load = Load(wrk, args.connections, args.wrk_threads, args.duration, BENCH_KEY)
    rng = random.Random(7)
    hot = write_phones(work / "hot.txt", rng.sample(range(args.clients), min(args.hot_clients, args.clients)))
    everyone = list(range(args.clients))
    rng.shuffle(everyone)
    cold = write_phones(work / "cold.txt", everyone)
    # Default settings (JSON access log on), except the per-key rate limit: one key sends all the load
    # here, so its bucket is made too large to run dry (the limiter still runs on every request).
    service_env = {"SUPPORTGATE_DATABASE_URL": url, "SUPPORTGATE_LOG_LEVEL": "INFO",
                   "SUPPORTGATE_CACHE_MAX_CLIENTS": str(args.cache_size),
                   "SUPPORTGATE_RATE_LIMIT_PER_SECOND": "1000000", "SUPPORTGATE_RATE_LIMIT_BURST": "1000000"}
    baseline = Server("baseline", "benchmarks.baseline_app:create_app", {}, args.workers)
    service = Server("service", "service.api.app:create_app", service_env, args.workers)
    print(f"{os.cpu_count()} cores; wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s x{args.rounds}; "
          f"uvicorn --workers {args.workers} (uvloop, httptools, no access log)", flush=True)
    try:
        baseline.start()
        service.start()
        for name, mode, phones in (("hot", "post", hot), ("get", "get", hot), ("batch", "batch", hot)):
            if name in scenarios:
                figures = alternate(load, baseline, service, mode, phones, args.rounds)
                report["scenarios"][name] = figures
                print_row(name, figures)
        if "coverage" in scenarios:
            report["scenarios"]["coverage"] = figures = timed_coverage(service, BENCH_KEY)
            print(f"coverage   report over {args.clients} clients: median {figures['median_ms']} ms", flush=True)
        if "cold" in scenarios:
            service.stop()
            service = Server("service", "service.api.app:create_app",
                             {**service_env, "SUPPORTGATE_CACHE_MAX_CLIENTS": str(args.cold_cache_size)}, args.workers)
            service.start()
            figures = alternate(load, baseline, service, "post", cold, args.rounds)
            figures["cache_size"] = args.cold_cache_size
            report["scenarios"]["cold"] = figures
            print_row("cold", figures)
        if "webhook" in scenarios:
            service.stop()
            service = Server("service", "service.api.app:create_app",
                             {**service_env, "SUPPORTGATE_STANDARD_WEBHOOK_SECRET": WEBHOOK_SECRET}, args.workers)
            service.start()
            deliveries = write_deliveries(work / "webhooks.txt", args.clients, args.webhook_deliveries)
            figures = load.run(service, "webhook", deliveries)
            figures["deliveries_signed"] = args.webhook_deliveries
            report["scenarios"]["webhook"] = figures
            print(f"webhook    {figures['rps']:.0f} deliveries/s (signed contract.signed, each stored and applied)  "
                  f"p50 {figures['p50_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms"
                  f"{'   ERRORS ' + str(figures['errors']) if figures['errors'] else ''}", flush=True)
        if "import-load" in scenarios:
            from benchmarks.jobs_load import ADMIN_KEY, import_under_load, print_figures

            service.stop()
            jobs_env = {**service_env, "SUPPORTGATE_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
                        "SUPPORTGATE_MAX_IMPORT_BYTES": str(64 * 1024 * 1024), "SUPPORTGATE_JOB_POLL_SECONDS": "0.2",
                        "SUPPORTGATE_JOBS_EMBEDDED": "true" if args.jobs_in == "embedded" else "false"}
            service = Server("service", "service.api.app:create_app", jobs_env, args.workers)
            service.start()
            worker = None
            if args.jobs_in == "worker":
                worker = subprocess.Popen([sys.executable, "-m", "service.cli", "worker", "--nice", str(args.worker_nice)], cwd=ROOT,
                                          env={**os.environ, **jobs_env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                report["scenarios"]["import-load"] = figures = import_under_load(
                    load, service, hot, args.load_import_rows, args.duration, args.load_seconds)
            finally:
                if worker is not None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(timeout=30)
            figures["jobs_in"] = args.jobs_in
            print_figures(figures)
        if "webhook-load" in scenarios:
            from benchmarks import webhook_load

            service.stop()
            service = Server("service", "service.api.app:create_app",
                             {**service_env, "SUPPORTGATE_STANDARD_WEBHOOK_SECRET": WEBHOOK_SECRET}, args.workers)
            service.start()
            deliveries = write_deliveries(work / "burst.txt", args.clients, args.burst_deliveries)
            report["scenarios"]["webhook-load"] = figures = webhook_load.check_during_burst(
                load, service, hot, deliveries, args.burst_deliveries, args.burst_senders, args.load_seconds)
            webhook_load.print_figures(figures)
    finally:
        service.stop()
        baseline.stop()
    if "import" in scenarios:
        report["scenarios"]["import"] = figures = timed_import(url, args.import_rows, 5_000_000)
        print(f"import     {figures['rows']} CSV rows in {figures['seconds']} s: {figures['rows_per_s']:.0f} rows/s", flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = f"-{args.label}" if args.label else ""
    out = RESULTS / f"{stamp}-{backend}-{args.clients}{label}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _recreate_pg(url: str) -> None:
    """Drop and create the benchmark database named in the URL (never the server's default one)."""
    import sqlalchemy as sa

    from service.storage.database import normalize_url

    parsed = sa.engine.make_url(normalize_url(url))
    name = parsed.database
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit("give the benchmark its own PostgreSQL database, e.g. postgresql://postgres@127.0.0.1/sg_bench")
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
