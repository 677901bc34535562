"""The request metrics, counted as plain numbers, scrape as Prometheus counters and histograms."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service.api.middleware import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_requests_latency_buckets_and_decisions() -> None:
    metrics = Metrics()
    for seconds in (0.0004, 0.001, 0.003, 7.0):
        metrics.observe_request("POST", "/v1/entitlements/check", 200, seconds)
    metrics.observe_request("GET", "/v1/clients", 404, 0.02)
    metrics.count_decision("triage", True)
    metrics.count_decision("advanced_support", False)
    metrics.count_decision("advanced_support", False)
    found = samples(metrics)
    check = (("method", "POST"), ("route", "/v1/entitlements/check"))
    assert found[("supportgate_http_requests_total", (*check, ("status", "200")))] == 4
    assert found[("supportgate_http_requests_total", (("method", "GET"), ("route", "/v1/clients"), ("status", "404")))] == 1

    def bucket(le: str) -> float:
        return found[("supportgate_http_request_duration_seconds_bucket", tuple(sorted((*check, ("le", le)))))]

    assert bucket("0.001") == 2  # a value on a bound counts in that bucket
    assert bucket("0.0025") == 2 and bucket("0.005") == 3 and bucket("5.0") == 3 and bucket("+Inf") == 4
    assert found[("supportgate_http_request_duration_seconds_count", check)] == 4
    assert abs(found[("supportgate_http_request_duration_seconds_sum", check)] - 7.0044) < 1e-9
    assert found[("supportgate_decisions_total", (("outcome", "refused"), ("service", "advanced_support")))] == 2
    assert found[("supportgate_decisions_total", (("outcome", "allowed"), ("service", "triage")))] == 1
