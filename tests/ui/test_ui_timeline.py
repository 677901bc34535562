"""Signed % over time, replayed from audit events (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.domain.model import Policy
from service.storage import tables as t
from service.ui import timeline

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return NOW - timedelta(days=n)


def event(kind: str, at: datetime, client_id: str | None = None, subject: str | None = None, **after: object) -> t.Event:
    return t.Event(kind=kind, created_at=at, client_id=client_id, subject=subject, after=after or None, scope="client", actor="t")


def share_on(points: list[timeline.Point], when: datetime) -> tuple[int, int]:
    """The count at the latest sample (UTC midnights, i.e. day(n + 0.5) here) at or before `when`."""
    point = max((p for p in points if p.at <= when), key=lambda p: p.at)
    return point.signed, point.active


def test_share_follows_signatures_declines_archives_and_terms() -> None:
    events = [
        event("contract.created", day(30), subject="v1", grace_days=10, term_days=None),
        event("contract.published", day(30), subject="v1", published_at=day(20).isoformat()),
        event("client.created", day(25), "a"),
        event("client.created", day(25), "b"),
        event("client.created", day(25), "c"),
        # a signs v1 before it is published: counts from publication on.
        event("acceptance.signed", day(24), "a", subject="v1", signed_at=day(24).isoformat()),
        # b signs, then declines later: the latest answer wins.
        event("acceptance.signed", day(15), "b", subject="v1", signed_at=day(15).isoformat()),
        event("acceptance.declined", day(5), "b", subject="v1", signed_at=day(5).isoformat()),
        # c is archived: out of the count.
        event("client.archived", day(10), "c"),
        # a signature recorded late, dated back: counts from the date it was signed.
        event("client.created", day(12), "d"),
        event("acceptance.signed", day(1), "d", subject="v1", signed_at=day(8).isoformat()),
        # v2 with a 2-day term: a is back to not signed until it signs v2, and again when the term runs out.
        event("contract.created", day(4), subject="v2", grace_days=10, term_days=2),
        event("contract.published", day(4), subject="v2", published_at=day(3.2).isoformat()),
        event("acceptance.signed", day(2), "a", subject="v2", signed_at=day(2.2).isoformat()),
    ]
    points = timeline.signed_share(events, NOW, Policy())
    assert share_on(points, day(22)) == (0, 3)  # nothing published yet
    assert share_on(points, day(17)) == (1, 3)  # a
    assert share_on(points, day(14)) == (2, 3)  # a, b
    assert share_on(points, day(9)) == (2, 3)  # c archived (2 active: a, b) + d created: 3 active, d not yet signed
    assert share_on(points, day(7)) == (3, 3)  # d signed on day 8
    assert share_on(points, day(4.5)) == (2, 3)  # b declined
    assert share_on(points, day(2.5)) == (0, 3)  # v2 current, nobody signed it
    assert share_on(points, day(1.5)) == (1, 3)  # a signed v2
    assert points[-1].at == NOW and (points[-1].signed, points[-1].active) == (0, 3)  # a's 2-day term ran out
    assert points[-1].pct == 0.0


def test_reactivated_clients_count_again_and_no_clients_means_no_points() -> None:
    assert timeline.signed_share([], NOW, Policy()) == []
    events = [
        event("client.created", day(5), "a"),
        event("client.archived", day(4), "a"),
        event("client.reactivated", day(2), "a"),
    ]
    points = timeline.signed_share(events, NOW, Policy())
    assert share_on(points, day(3)) == (0, 0) and share_on(points, day(1)) == (0, 1)
    assert timeline.chart(points) is not None


def test_samples_are_daily_and_end_now() -> None:
    samples = timeline.sample_times(day(3.2), NOW)
    assert samples[-1] == NOW and len(samples) == 4  # ends of Nov 22, 23, 24, then now
    assert all(s.hour == 0 for s in samples[:-1])
    assert len(timeline.sample_times(day(400), NOW)) == 91
