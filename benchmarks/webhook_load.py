"""The `webhook-load` scenario: the check's p99 alone and while a burst of signed webhook deliveries is
stored, verified and applied by the same service (same run, so the ratio compares like with like)."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol


class LoadRunner(Protocol):
    def run(self, server: Any, mode: str, phones: Path, duration: int | None = None) -> dict[str, Any]: ...


def _deliver(url: str, line: str) -> int:
    msg_id, timestamp, signature, body = line.rstrip("\n").split("\t", 3)
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    })
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - a loopback server of this run
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def burst(url: str, lines: list[str], senders: int) -> dict[str, Any]:
    """Every delivery once, `senders` at a time (a provider's retry queue draining after an outage)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        statuses = list(pool.map(lambda line: _deliver(url, line), lines))
    seconds = time.perf_counter() - started
    return {"deliveries": len(lines), "seconds": round(seconds, 3), "per_s": round(len(lines) / seconds, 1),
            "non_2xx": sum(1 for s in statuses if not 200 <= s < 300)}


def check_during_burst(load: LoadRunner, service: Any, phones: Path, deliveries: Path, count: int, senders: int,
                       load_seconds: int) -> dict[str, Any]:
    lines = deliveries.read_text().splitlines(keepends=True)[:count]
    load.run(service, "post", phones, duration=3)  # warm-up
    alone = load.run(service, "post", phones, duration=load_seconds)
    sent: dict[str, Any] = {}

    def play() -> None:
        time.sleep(0.5)
        sent.update(burst(f"{service.url}/v1/webhooks/standard", lines, senders))

    player = threading.Thread(target=play)
    player.start()
    during = load.run(service, "post", phones, duration=load_seconds)
    player.join()
    limit = 2 * alone["p99_ms"] + 1
    return {
        "alone": alone, "during": during, "burst": sent,
        "p99_ratio": round(during["p99_ms"] / alone["p99_ms"], 3) if alone["p99_ms"] else 0.0,
        "p99_limit_ms": round(limit, 3), "p99_within_limit": during["p99_ms"] <= limit,
    }


def print_figures(figures: dict[str, Any]) -> None:
    alone, during, sent = figures["alone"], figures["during"], figures["burst"]
    print(f"webhook-load check alone     {alone['rps']:>8.0f} req/s  p50 {alone['p50_ms']:>6.2f} ms  p99 {alone['p99_ms']:>6.2f} ms",
          flush=True)
    print(f"{'':<12} during the burst {during['rps']:>8.0f} req/s  p50 {during['p50_ms']:>6.2f} ms  p99 {during['p99_ms']:>6.2f} ms  "
          f"ratio x{figures['p99_ratio']:.2f} (limit {figures['p99_limit_ms']:.2f} ms: {'ok' if figures['p99_within_limit'] else 'OVER'})",
          flush=True)
    print(f"{'':<12} burst: {sent.get('deliveries')} signed deliveries in {sent.get('seconds')} s "
          f"({sent.get('per_s')}/s), {sent.get('non_2xx')} not 2xx", flush=True)
