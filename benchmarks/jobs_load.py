"""The `import-load` scenario: the check's p99 alone and while a big CSV import runs as a background job
in the same service, and the import's own speed alone (all in one run, so the ratio compares like with like)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

ADMIN_KEY = "bench-admin-key-0123456789"


class LoadRunner(Protocol):
    def run(self, server: Any, mode: str, phones: Path, duration: int | None = None) -> dict[str, Any]: ...


def _request(url: str, *, data: bytes | None = None, content_type: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=300) as answer:
        return answer.status, json.loads(answer.read())


def timed_job_import(base_url: str, text: str) -> dict[str, Any]:
    """POST the file (answered 202), follow the job to its end; wall time from the POST, and the job's own time."""
    began = time.perf_counter()
    status, queued = _request(f"{base_url}/v1/clients/import", data=text.encode(), content_type="text/csv")
    if status != 202:
        raise RuntimeError(f"the import was not queued as a job: HTTP {status} {queued}")
    while True:
        _status, job = _request(f"{base_url}{queued['location']}")
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    wall = time.perf_counter() - began
    if job["status"] != "succeeded":
        raise RuntimeError(f"the import job failed: {job['error']}")
    ran = (datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])).total_seconds()
    rows = int(job["progress"]["total"])
    return {"rows": rows, "created": job["result"]["created"], "errors": len(job["result"]["errors"]),
            "wall_seconds": round(wall, 3), "job_seconds": round(ran, 3), "rows_per_s": round(rows / wall, 1)}


def import_under_load(load: LoadRunner, service: Any, phones: Path, rows: int, duration: int,
                      load_seconds: int) -> dict[str, Any]:
    """Check p99 alone, then the same load with an import job started 0.5 s in, both for `load_seconds`
    (long enough for the import to finish inside it; equal lengths, so that both catch the machine's
    hiccups alike); then the import alone."""
    from benchmarks.seed import csv_text

    # Warm-up: the check, and the import and job routes (FastAPI builds a route on its first request:
    # half a second on the loop, once per process, which is not what this measures).
    _request(f"{service.url}/v1/jobs")
    _request(f"{service.url}/v1/clients/import", data=csv_text(8_000_000, 2).encode(), content_type="text/csv")
    load.run(service, "post", phones, duration=min(duration, 5))
    alone = load.run(service, "post", phones, duration=load_seconds)
    during_import: dict[str, Any] = {}

    def start_import() -> None:
        time.sleep(0.5)
        try:
            during_import.update(timed_job_import(service.url, csv_text(6_000_000, rows)))
        except Exception as exc:  # reported, not raised: the load run's figures still stand
            during_import["error"] = repr(exc)

    importer = threading.Thread(target=start_import)
    started = time.perf_counter()
    importer.start()
    during = load.run(service, "post", phones, duration=load_seconds)
    load_wall_seconds = time.perf_counter() - started  # the load ran this long (a little over load_seconds)
    importer.join()
    during_import["finished_within_load"] = bool(during_import.get("wall_seconds", 1e9) + 0.5 <= load_wall_seconds)
    import_alone = timed_job_import(service.url, csv_text(7_000_000, rows))
    limit = 2 * alone["p99_ms"] + 1
    return {
        "alone": alone, "during": during, "import_during": during_import, "import_alone": import_alone,
        "p99_ratio": round(during["p99_ms"] / alone["p99_ms"], 3) if alone["p99_ms"] else 0.0,
        "p99_limit_ms": round(limit, 3), "p99_within_limit": during["p99_ms"] <= limit,
        "import_rows_per_s_alone": import_alone["rows_per_s"],
    }


def print_figures(figures: dict[str, Any]) -> None:
    alone, during = figures["alone"], figures["during"]
    print(f"import-load check alone      {alone['rps']:>8.0f} req/s  p50 {alone['p50_ms']:>6.2f} ms  p99 {alone['p99_ms']:>6.2f} ms",
          flush=True)
    print(f"{'':<11} during import    {during['rps']:>8.0f} req/s  p50 {during['p50_ms']:>6.2f} ms  "
          f"p99 {during['p99_ms']:>6.2f} ms  ratio x{figures['p99_ratio']:.2f} (limit {figures['p99_limit_ms']:.2f} ms: "
          f"{'ok' if figures['p99_within_limit'] else 'OVER'})", flush=True)
    jd, ja = figures["import_during"], figures["import_alone"]
    if "error" in jd:
        print(f"{'':<11} import during load FAILED: {jd['error']}", flush=True)
    else:
        print(f"{'':<11} import during load: {jd['rows']} rows in {jd['wall_seconds']} s "
              f"({'inside' if jd['finished_within_load'] else 'OUTLASTED'} the load window)", flush=True)
    print(f"{'':<11} import alone: {ja['rows']} rows in {ja['wall_seconds']} s = {ja['rows_per_s']:.0f} rows/s "
          f"(job {ja['job_seconds']} s)", flush=True)
