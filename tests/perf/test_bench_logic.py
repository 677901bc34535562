"""The benchmark's own logic (the benchmark itself is too slow for CI): wrk output parsing, the
summary and ratio, and the bulk seed answering like clients made through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from benchmarks import run
from benchmarks.seed import BENCH_KEY, csv_text, dialled_phone_of, phone_of, seed
from service.api.app import create_app
from service.identifiers import normalize_phone
from service.storage import tables as t
from service.storage.database import Database
from service.usecases import importer
from service.webhooks import standard
from tests.conftest import make_settings

LINE = ('BENCHJSON {"requests":50000,"duration_us":10000000,"p50_us":2500,"p90_us":4000,"p99_us":9000,'
        '"max_us":20000,"mean_us":2700.5,"errors":{"connect":0,"read":1,"write":0,"status":2,"timeout":0}}')


def test_parse_wrk_reads_the_done_line() -> None:
    figures = run.parse_wrk("Running 10s test @ http://x\n" + LINE + "\n")
    assert figures["rps"] == 5000.0
    assert (figures["p50_ms"], figures["p99_ms"], figures["max_ms"]) == (2.5, 9.0, 20.0)
    assert figures["errors"] == 3 and figures["non_2xx"] == 2


def test_parse_wrk_without_the_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="BENCHJSON"):
        run.parse_wrk("Running 10s test\n  Latency 1ms\n")


def test_summary_takes_medians_and_the_ratio_compares_sides() -> None:
    service = run.summarise([{"rps": 700.0, "p99_ms": 4.0}, {"rps": 900.0, "p99_ms": 9.0}, {"rps": 800.0, "p99_ms": 5.0}])
    baseline = run.summarise([{"rps": 1000.0, "p99_ms": 2.0}, {"rps": 1200.0, "p99_ms": 2.5}, {"rps": 1100.0, "p99_ms": 3.0}])
    assert service["rps"] == 800.0 and baseline["rps"] == 1100.0
    assert run.compare(service, baseline) == {"rps_ratio": round(800 / 1100, 3), "p99_ratio": 2.0}


def test_seeded_phones_are_what_the_check_normalises_to() -> None:
    for i in (0, 6_999_999, 7_000_000, 999_999):
        assert normalize_phone(dialled_phone_of(i)) == phone_of(i)
    assert len({phone_of(i) for i in range(0, 2_000_000, 997)}) == len(range(0, 2_000_000, 997))


@pytest.mark.storage
def test_seeded_clients_answer_like_real_ones(db_url: str) -> None:
    seed(db_url, 60, migrate=False)
    db = Database.connect(db_url, pool_size=1)
    try:
        with db.read_engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(t.Client.__table__)).scalar()
            events = connection.execute(sa.select(sa.func.count()).select_from(t.Event.__table__)).scalar()
    finally:
        db.dispose()
    assert count == 60 and events == 60
    settings = make_settings(db_url)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {BENCH_KEY}"}) as api:
        def check(i: int, service: str) -> dict[str, Any]:
            answer = api.post("/v1/entitlements/check", json={"phone": dialled_phone_of(i), "service": service})
            assert answer.status_code == 200, answer.text
            return cast(dict[str, Any], answer.json())

        member = check(3, "priority_support")  # signed, every third client a Gold member
        assert member["allowed"] is True and member["membership"]["plan"] == "bench_gold"
        assert check(4, "priority_support")["allowed"] is False  # signed, no membership
        declined = check(16, "advanced_support")  # bucket 16 of 20 declined
        assert declined["allowed"] is False and declined["contract"]["status"] == "declined"
        assert check(60, "advanced_support")["client"] is None  # not seeded


def test_import_file_and_webhook_deliveries_are_valid(tmp_path: Path) -> None:
    rows, errors = importer.rows_from_csv(csv_text(5_000_000, 50))
    assert len(rows) == 50 and not errors
    path = run.write_deliveries(tmp_path / "deliveries.txt", clients=10, count=3)
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        msg_id, stamp, signature, body = line.split("\t")
        headers = {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": signature}
        standard.verify(body.encode(), headers, run.WEBHOOK_SECRET)  # raises if the signature is wrong
        assert standard.parse(body.encode(), headers).status == "signed"
    assert int(stamp) <= datetime.now(UTC).timestamp() + 1
