"""Signed % over time, replayed from the audit events, and its inline SVG chart.

The events hold everything the share depends on: clients created, archived and reactivated;
signatures and declines (with the time the client signed); contract versions created (term) and
published. Each client's history is evaluated with the domain rule (contract_view) at the moments
its status can change only, then counted at each sample time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.domain import model as dm
from service.domain.contract import contract_view

KINDS = (
    "client.created", "client.archived", "client.reactivated", "acceptance.signed", "acceptance.declined",
    "contract.created", "contract.published",
)


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    active: int
    signed: int

    @property
    def pct(self) -> float:
        return round(100.0 * self.signed / self.active, 2) if self.active else 0.0


@dataclass
class _History:
    created_at: datetime
    toggles: list[tuple[datetime, bool]] = field(default_factory=list)  # (when, active afterwards)
    acceptances: list[dm.Acceptance] = field(default_factory=list)

    def active_at(self, at: datetime) -> bool:
        active = at >= self.created_at
        for when, value in self.toggles:
            if when <= at:
                active = value
        return active


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def sample_times(first: datetime, now: datetime, max_days: int = 90) -> list[datetime]:
    """The end of every UTC day from the first event's day (at most `max_days` back), then now."""
    start = max(first, now - timedelta(days=max_days))
    day_end = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    times = []
    while day_end < now:
        times.append(day_end)
        day_end += timedelta(days=1)
    return [*times, now]


def signed_share(events: Iterable[Any], now: datetime, policy: dm.Policy, max_days: int = 90) -> list[Point]:
    """`events`: rows with kind, client_id, subject, after and created_at, oldest first (SqlRepository.event_facts)."""
    clients: dict[str, _History] = {}
    terms: dict[str, tuple[int, int | None]] = {}
    published: dict[str, datetime] = {}
    first: datetime | None = None
    for event in events:
        after = event.after or {}
        if event.kind == "contract.created" and event.subject:
            terms[event.subject] = (int(after.get("grace_days") or 0), after.get("term_days"))
        elif event.kind == "contract.published" and event.subject:
            published[event.subject] = _when(after.get("published_at")) or event.created_at
        elif event.client_id is None:
            continue
        elif event.kind == "client.created":
            clients[event.client_id] = _History(event.created_at)
            first = event.created_at if first is None else min(first, event.created_at)
        elif event.client_id in clients:
            history = clients[event.client_id]
            if event.kind in ("client.archived", "client.reactivated"):
                history.toggles.append((event.created_at, event.kind == "client.reactivated"))
            elif event.subject:
                signed_at = _when(after.get("signed_at")) or event.created_at
                decision = dm.AcceptanceDecision.SIGNED if event.kind == "acceptance.signed" else dm.AcceptanceDecision.DECLINED
                history.acceptances.append(dm.Acceptance(event.subject, decision, signed_at))
    if first is None:
        return []
    versions = tuple(
        dm.ContractVersion(v, terms.get(v, (0, None))[0], terms.get(v, (0, None))[1], at) for v, at in published.items()
    )
    catalog = dm.Catalog(services={}, plans={}, versions=versions, policy=policy)
    samples = sample_times(first, now, max_days)
    active_diff = [0] * (len(samples) + 1)
    signed_diff = [0] * (len(samples) + 1)
    for client_id, history in clients.items():
        state = dm.ClientState(client_id, "", dm.ClientStatus.ACTIVE, history.created_at, acceptances=tuple(history.acceptances))
        for start, end, active, signed in _pieces(history, state, catalog, versions):
            lo, hi = bisect_left(samples, start), bisect_left(samples, end) if end else len(samples)
            if active:
                active_diff[lo] += 1
                active_diff[hi] -= 1
            if active and signed:
                signed_diff[lo] += 1
                signed_diff[hi] -= 1
    points, active_count, signed_count = [], 0, 0
    for index, at in enumerate(samples):
        active_count += active_diff[index]
        signed_count += signed_diff[index]
        points.append(Point(at, active_count, signed_count))
    return points


def _pieces(
    history: _History, state: dm.ClientState, catalog: dm.Catalog, versions: Sequence[dm.ContractVersion]
) -> list[tuple[datetime, datetime | None, bool, bool]]:
    """[start, end) stretches over which the client's (active, signed) pair does not change."""
    changes = {history.created_at, *(when for when, _ in history.toggles)}
    changes |= {a.signed_at for a in history.acceptances}
    changes |= {v.published_at for v in versions if v.published_at is not None}
    for acceptance in history.acceptances:
        for version in versions:
            if version.term_days is not None and version.version == acceptance.contract_version:
                changes.add(acceptance.signed_at + timedelta(days=version.term_days))
    times = sorted(when for when in changes if when >= history.created_at)
    pieces = []
    for index, start in enumerate(times):
        end = times[index + 1] if index + 1 < len(times) else None
        # Without any signature the answer is known (and most clients early in a rollout have none).
        signed = bool(history.acceptances) and contract_view(state, catalog, start).status is dm.ContractStatus.SIGNED
        pieces.append((start, end, history.active_at(start), signed))
    return pieces


@dataclass(frozen=True, slots=True)
class Chart:
    """Coordinates of the inline SVG (viewBox 0 0 WIDTH HEIGHT); drawn by the dashboard template."""

    polyline: str
    dots: list[tuple[float, float, str]]
    grid: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]


WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 250, 70, 16, 14, 36


def chart(points: Sequence[Point]) -> Chart | None:
    if not points:
        return None
    t0, t1 = points[0].at, points[-1].at
    span = max((t1 - t0).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        return round(LEFT + plot_w * (at - t0).total_seconds() / span, 1) if len(points) > 1 else LEFT + plot_w / 2

    def y(pct: float) -> float:
        return round(TOP + plot_h * (1 - pct / 100), 1)

    coords = [(x(p.at), y(p.pct), f"{p.at:%Y-%m-%d}: {p.pct:g} % signed ({p.signed} of {p.active})") for p in points]
    labels = [(x(points[0].at), f"{points[0].at:%b %d}")]
    if len(points) > 2:
        middle = points[len(points) // 2]
        labels.append((x(middle.at), f"{middle.at:%b %d}"))
    if len(points) > 1:
        labels.append((x(points[-1].at), "now"))
    return Chart(
        polyline=" ".join(f"{cx},{cy}" for cx, cy, _ in coords),
        dots=coords[-1:] if len(coords) > 40 else coords,
        grid=[(y(pct), f"{pct}%") for pct in (0, 25, 50, 75, 100)],
        x_labels=labels,
    )
