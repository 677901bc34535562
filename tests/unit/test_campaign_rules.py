"""Properties of the campaign rules (service/domain/campaign.py) on generated clients, versions and timelines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import campaign as rules
from service.domain import model as dm
from service.domain.contract import grace_deadline

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = dm.Policy(new_client_grace_days=14)

offsets = st.integers(min_value=-60 * 24, max_value=60 * 24).map(lambda h: timedelta(hours=h))
reminder_days = st.lists(st.integers(min_value=0, max_value=40), min_size=0, max_size=6)


def catalog_with(version: dm.ContractVersion) -> dm.Catalog:
    return dm.Catalog(services={}, plans={}, versions=(version,), policy=POLICY)


Scenario = tuple[dm.ClientState, dm.Catalog, rules.CampaignRules]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    published = T0 + draw(offsets)
    version = dm.ContractVersion("2026.1", draw(st.integers(0, 60)), draw(st.none() | st.integers(1, 400)), published)
    created = published + draw(offsets)
    extension = draw(st.none() | st.integers(0, 90))
    client = dm.ClientState(
        id="cli_1", name="Acme", status=dm.ClientStatus.ACTIVE, created_at=created,
        grace_extensions=() if extension is None else (dm.GraceExtension("2026.1", created + timedelta(days=extension)),),
    )
    started = max(published, T0) + draw(st.integers(0, 30 * 24).map(lambda h: timedelta(hours=h)))
    days = rules.normalise_reminder_days(draw(reminder_days))
    return client, catalog_with(version), rules.CampaignRules("2026.1", days, draw(st.booleans()), started)


def run(client: dm.ClientState, catalog: dm.Catalog, campaign: rules.CampaignRules, *, every: timedelta,
        until: datetime, unsubscribed: bool = False) -> dict[str, datetime]:
    """Scheduler passes from the start every `every` until `until`: what was sent when."""
    sent: dict[str, datetime] = {}
    now = campaign.started_at
    while now <= until:
        step = rules.due_step(client, catalog, campaign, has_email=True, sent=sent, unsubscribed=unsubscribed, now=now)
        if step is not None:
            assert step.step not in sent, "a step was due twice"
            assert step.due_at <= now, "a step went out before its time"
            sent[step.step] = now
        now += every
    return sent


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.integers(1, 48).map(lambda h: timedelta(hours=h)))
def test_each_step_at_most_once_the_first_message_first_and_no_reminder_from_before_the_start(scenario: Scenario, every: timedelta) -> None:
    client, catalog, campaign = scenario
    version = catalog.versions[0]
    deadline = grace_deadline(client, version, POLICY)
    sent = run(client, catalog, campaign, every=every, until=deadline + timedelta(days=2))
    first = max(campaign.started_at, client.created_at)
    if sent:
        assert min(sent, key=sent.__getitem__) == rules.INITIAL
    for step, at in sent.items():
        if step == rules.INITIAL:
            continue
        days = int(step.removeprefix("reminder_"))
        due = deadline - timedelta(days=days)
        assert days in campaign.reminder_days
        assert due > first, "a reminder whose day had passed at the start was sent late"
        assert at >= due
    # Never two messages in one pass.
    assert len(set(sent.values())) == len(sent)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_with_hourly_passes_every_reminder_after_the_start_goes_out_within_the_hour(scenario: Scenario) -> None:
    client, catalog, campaign = scenario
    version = catalog.versions[0]
    deadline = grace_deadline(client, version, POLICY)
    sent = run(client, catalog, campaign, every=timedelta(hours=1), until=deadline + timedelta(days=1))
    if rules.INITIAL not in sent:  # not a target at its first pass (already expired term etc. never applies here)
        return
    first_sent = sent[rules.INITIAL]
    for days in campaign.reminder_days:
        due = deadline - timedelta(days=days)
        step = rules.reminder_step(days)
        if due <= max(campaign.started_at, client.created_at):
            assert step not in sent
        elif due > first_sent and due <= deadline:
            # Due after the first message went out, on an hourly pass: it goes, within the hour, unless a
            # reminder with a later day came due within that same hour (then only that one).
            later = [d for d in campaign.reminder_days if d < days and deadline - timedelta(days=d) < due + timedelta(hours=1)]
            if not later:
                assert step in sent and sent[step] - due < timedelta(hours=1)


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.integers(0, 60 * 24).map(lambda h: timedelta(hours=h)), st.sampled_from(list(dm.AcceptanceDecision)))
def test_an_answer_by_any_route_stops_every_further_step(
    scenario: Scenario, after_start: timedelta, decision: dm.AcceptanceDecision,
) -> None:
    client, catalog, campaign = scenario
    answered_at = campaign.started_at + after_start
    answered = dm.ClientState(
        id=client.id, name=client.name, status=client.status, created_at=client.created_at,
        grace_extensions=client.grace_extensions,
        acceptances=(dm.Acceptance("2026.1", decision, answered_at),),
    )
    for hours in range(0, 80 * 24, 7):
        now = answered_at + timedelta(hours=hours)
        term = catalog.versions[0].term_days
        if decision is dm.AcceptanceDecision.SIGNED and term is not None and now >= answered_at + timedelta(days=term):
            break  # the signature expired: chasing again is right
        assert rules.due_step(answered, catalog, campaign, has_email=True, sent={}, unsubscribed=False, now=now) is None


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_unsubscribing_mutes_reminders_never_the_first_message(scenario: Scenario) -> None:
    client, catalog, campaign = scenario
    deadline = grace_deadline(client, catalog.versions[0], POLICY)
    muted = run(client, catalog, campaign, every=timedelta(hours=6), until=deadline + timedelta(days=1), unsubscribed=True)
    loud = run(client, catalog, campaign, every=timedelta(hours=6), until=deadline + timedelta(days=1))
    assert set(muted) == ({rules.INITIAL} & set(loud))


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.booleans())
def test_archived_clients_and_clients_without_an_email_are_never_written_to(scenario: Scenario, archived: bool) -> None:
    client, catalog, campaign = scenario
    gone = dm.ClientState(id=client.id, name=client.name, status=dm.ClientStatus.ARCHIVED, created_at=client.created_at)
    for hours in range(0, 90 * 24, 11):
        now = campaign.started_at + timedelta(hours=hours)
        if archived:
            assert rules.due_step(gone, catalog, campaign, has_email=True, sent={}, unsubscribed=False, now=now) is None
        else:
            assert rules.due_step(client, catalog, campaign, has_email=False, sent={}, unsubscribed=False, now=now) is None


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.integers(1, 30 * 24).map(lambda h: timedelta(hours=h)))
def test_a_decline_is_chased_only_when_asked_and_only_if_it_came_before_the_start(scenario: Scenario, gap: timedelta) -> None:
    client, catalog, campaign = scenario
    published = catalog.versions[0].published_at
    assert published is not None
    for declined_at, before_start in ((campaign.started_at - gap, True), (campaign.started_at + gap, False)):
        if declined_at < published:
            continue
        declined = dm.ClientState(
            id=client.id, name=client.name, status=client.status, created_at=client.created_at,
            acceptances=(dm.Acceptance("2026.1", dm.AcceptanceDecision.DECLINED, declined_at),),
        )
        at = max(declined_at, campaign.started_at)
        target = rules.is_target(declined, catalog, campaign, has_email=True, at=at)
        assert target == (campaign.include_declined and before_start)


def test_a_superseded_version_is_not_chased() -> None:
    old = dm.ContractVersion("2026.1", 30, None, T0)
    new = dm.ContractVersion("2026.2", 30, None, T0 + timedelta(days=5))
    catalog = dm.Catalog(services={}, plans={}, versions=(old, new), policy=POLICY)
    client = dm.ClientState(id="c", name="A", status=dm.ClientStatus.ACTIVE, created_at=T0 - timedelta(days=1))
    campaign = rules.CampaignRules("2026.1", (14, 7), False, T0 + timedelta(hours=1))
    assert rules.is_target(client, catalog, campaign, has_email=True, at=T0 + timedelta(days=1))
    assert not rules.is_target(client, catalog, campaign, has_email=True, at=T0 + timedelta(days=6))


def test_reminder_days_are_checked_and_sorted() -> None:
    assert rules.normalise_reminder_days([0, 14, 7, 7, 2]) == (14, 7, 2, 0)
    for bad in ([-1], [366], [True]):
        try:
            rules.normalise_reminder_days(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")


def test_days_left_rounds_up_and_never_goes_negative() -> None:
    assert rules.days_left(T0 + timedelta(hours=1), T0) == 1
    assert rules.days_left(T0 + timedelta(days=3), T0) == 3
    assert rules.days_left(T0 - timedelta(days=3), T0) == 0


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_after_a_bounce_nothing_more_goes_out(scenario: Scenario) -> None:
    client, catalog, campaign = scenario
    sent = {rules.INITIAL: max(campaign.started_at, client.created_at)}
    for hours in range(0, 90 * 24, 13):
        now = campaign.started_at + timedelta(hours=hours)
        assert rules.due_step(client, catalog, campaign, has_email=True, sent=sent, unsubscribed=False, now=now,
                              bounced=True) is None
