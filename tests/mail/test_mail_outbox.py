"""The mail outbox against a real SMTP server: retries on 4xx and refused connections, bounce on 5xx, .eml default."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service.errors import InvalidInput
from service.mail.transport import MailDirTransport, SmtpTransport, build_transport
from service.settings import Settings
from service.storage import mail as store
from service.storage import tables as t
from service.storage.database import Database
from service.usecases import mail as mail_uc
from service.usecases import mail_job
from service.usecases.job_runner import JobRunner
from service.usecases.mail import deliver_due_mail, mail_status, queue_mail, retry_delay
from tests.conftest import make_settings
from tests.helpers import mail_body
from tests.mail.smtp_server import ScriptedHandler, free_port, smtp_server

pytestmark = pytest.mark.storage
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database.connect(db_url, pool_size=2)
    yield database
    database.dispose()


def queue(
    db: Database, message_id: str = "<m1@test>", *, at: datetime = T0,
    headers: dict[str, str] | None = None, ref_kind: str | None = None, ref_id: str | None = None,
) -> str:
    with db.writer() as session:
        mail_id = queue_mail(session, to="ann@example.com", subject="Please sign", text="Hello Ann", html="<p>Hello Ann</p>",
                             message_id=message_id, now=at, headers=headers, ref_kind=ref_kind, ref_id=ref_id)
        session.commit()
    return mail_id


def row(db: Database, mail_id: str) -> t.MailOutbox:
    with db.reader() as session:
        found = store.get(session, mail_id)
        assert found is not None
        return found


def settings_for(db_url: str, smtp_url: str | None, tmp_path: Path) -> Settings:
    return make_settings(db_url, smtp_url=smtp_url, mail_dir=str(tmp_path / "mail"), mail_retry_base_seconds=60)


def test_a_temporary_failure_is_retried_after_the_backoff_and_delivered_once(db: Database, db_url: str, tmp_path: Path) -> None:
    handler = ScriptedHandler(script=["451 4.3.0 try again later"])
    mail_id = queue(db, headers={"X-Supportgate-Campaign": "cmp_1"}, ref_kind="campaign", ref_id="cmp_1")
    with smtp_server(handler) as url:
        settings = settings_for(db_url, url, tmp_path)
        assert deliver_due_mail(db, settings, T0) == 1
        first = row(db, mail_id)
        assert (first.status, first.attempts, first.next_attempt_at) == ("retrying", 1, T0 + timedelta(seconds=60))
        assert "451" in (first.last_error or "")
        assert deliver_due_mail(db, settings, T0 + timedelta(seconds=59)) == 0  # not due yet
        assert deliver_due_mail(db, settings, T0 + timedelta(seconds=60)) == 1
        assert deliver_due_mail(db, settings, T0 + timedelta(hours=2)) == 0  # sent: never again
    done = row(db, mail_id)
    assert (done.status, done.attempts, done.sent_at) == ("sent", 2, T0 + timedelta(seconds=60))
    assert handler.attempts == 2 and len(handler.received) == 1
    delivered = handler.received[0]
    assert delivered["Message-ID"] == "<m1@test>"
    assert delivered["X-Supportgate-Campaign"] == "cmp_1"
    assert delivered["To"] == "ann@example.com"
    assert mail_body(delivered, "plain").strip() == "Hello Ann"
    assert "<p>Hello Ann</p>" in mail_body(delivered, "html")
    with db.reader() as session:
        assert mail_status(session, ["<m1@test>", "<unknown@test>"]) == {"<m1@test>": "sent"}


def test_a_permanent_failure_bounces_and_is_never_retried(db: Database, db_url: str, tmp_path: Path) -> None:
    handler = ScriptedHandler(script=["550 5.1.1 no such mailbox"])
    mail_id = queue(db)
    with smtp_server(handler) as url:
        settings = settings_for(db_url, url, tmp_path)
        assert deliver_due_mail(db, settings, T0) == 1
        assert deliver_due_mail(db, settings, T0 + timedelta(days=1)) == 0
    bounced = row(db, mail_id)
    assert (bounced.status, bounced.attempts, bounced.next_attempt_at) == ("bounced", 1, None)
    assert "550" in (bounced.last_error or "")
    assert handler.attempts == 1 and handler.received == []


def test_a_refused_connection_is_retried_with_doubling_backoff(db: Database, db_url: str, tmp_path: Path) -> None:
    mail_id = queue(db)
    settings = settings_for(db_url, f"smtp://127.0.0.1:{free_port()}", tmp_path)  # nothing listens there
    assert deliver_due_mail(db, settings, T0) == 1
    first = row(db, mail_id)
    assert (first.status, first.next_attempt_at) == ("retrying", T0 + timedelta(seconds=60))
    assert deliver_due_mail(db, settings, T0 + timedelta(seconds=60)) == 1
    second = row(db, mail_id)
    assert (second.status, second.attempts, second.next_attempt_at) == ("retrying", 2, T0 + timedelta(seconds=180))
    # Then a server answers: the next due attempt goes through.
    handler = ScriptedHandler()
    with smtp_server(handler) as url:
        assert deliver_due_mail(db, settings_for(db_url, url, tmp_path), T0 + timedelta(seconds=180)) == 1
    assert row(db, mail_id).status == "sent" and len(handler.received) == 1


def test_mail_still_failing_after_three_days_is_given_up(db: Database, db_url: str, tmp_path: Path) -> None:
    mail_id = queue(db)
    settings = settings_for(db_url, f"smtp://127.0.0.1:{free_port()}", tmp_path)
    assert deliver_due_mail(db, settings, T0 + timedelta(days=3) - timedelta(seconds=30)) == 1
    given_up = row(db, mail_id)
    assert (given_up.status, given_up.next_attempt_at) == ("failed", None)


def test_the_same_message_id_is_queued_once(db: Database) -> None:
    first = queue(db, "<same@test>")
    again = queue(db, "<same@test>", at=T0 + timedelta(minutes=5))
    assert first == again
    with db.reader() as session:
        assert len(session.query(t.MailOutbox).all()) == 1


def test_without_an_smtp_url_mail_lands_as_eml_files(db: Database, db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, None, tmp_path)
    assert isinstance(build_transport(settings), MailDirTransport)
    assert Settings().mail_dir == "./mail"
    queue(db, "<eml@test>")
    assert deliver_due_mail(db, settings, T0) == 1
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == "<eml@test>" and parsed["Subject"] == "Please sign"
    assert parsed["From"] == settings.mail_from


# A test server on loopback: AUTH without TLS is fine here (aiosmtpd warns about it).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login(db: Database, db_url: str, tmp_path: Path) -> None:
    handler = ScriptedHandler()
    mail_id = queue(db)
    with smtp_server(handler, login=("mailer", "s3cret")) as url:
        wrong = url.replace("s3cret", "wrong")
        assert deliver_due_mail(db, settings_for(db_url, wrong, tmp_path), T0) == 1
        assert row(db, mail_id).status == "retrying"  # our credentials, not the recipient: kept, not bounced
        assert deliver_due_mail(db, settings_for(db_url, url, tmp_path), T0 + timedelta(minutes=1)) == 1
    assert row(db, mail_id).status == "sent" and len(handler.received) == 1


def test_two_workers_never_claim_the_same_message(db: Database, db_url: str) -> None:
    queue(db, "<a@test>")
    queue(db, "<b@test>")
    with db.writer() as first:
        claimed = store.claim_due(first, now=T0, lease=timedelta(minutes=5), limit=1)
        first.flush()
        if db.url.startswith("postgresql"):
            # While the first claim is uncommitted, a second worker skips its locked row.
            with db.writer() as second:
                other = store.claim_due(second, now=T0, lease=timedelta(minutes=5), limit=10)
                assert [r.message_id for r in other] != [r.message_id for r in claimed] and len(other) == 1
                second.rollback()
        first.commit()
    with db.writer() as session:
        assert len(store.claim_due(session, now=T0, lease=timedelta(minutes=5), limit=10)) == 1
        session.commit()
    # Both are leased now; once the lease runs out a crashed sender's rows come back.
    with db.writer() as session:
        assert store.claim_due(session, now=T0 + timedelta(minutes=1), lease=timedelta(minutes=5), limit=10) == []
        assert len(store.claim_due(session, now=T0 + timedelta(minutes=6), lease=timedelta(minutes=5), limit=10)) == 2
        session.rollback()


def test_retry_delay_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n, 60).total_seconds() for n in (1, 2, 3, 6, 7, 20)] == [60, 120, 240, 1920, 3600, 3600]


def test_smtp_urls() -> None:
    plain = SmtpTransport.from_url("smtp://user:p%40ss@mail.example.com:587?starttls=true")
    assert (plain.hostname, plain.port, plain.start_tls, plain.use_tls, plain.username, plain.password) == (
        "mail.example.com", 587, True, False, "user", "p@ss")
    tls = SmtpTransport.from_url("smtps://mail.example.com")
    assert (tls.port, tls.use_tls, tls.start_tls, tls.username) == (465, True, False, None)
    with pytest.raises(ValueError):
        SmtpTransport.from_url("http://mail.example.com")



def test_the_periodic_job_delivers_due_mail_off_the_request_loop(db: Database, db_url: str, tmp_path: Path) -> None:
    handler = ScriptedHandler()
    queue(db, "<job@test>", at=datetime.now(UTC))
    with smtp_server(handler) as url:
        runner = JobRunner(db, settings_for(db_url, url, tmp_path), kinds=[mail_job.MAIL_KIND])
        assert runner.run_once()  # the slot's job is queued by the runner itself, then run
    assert [m["Message-ID"] for m in handler.received] == ["<job@test>"]
    with db.reader() as session:
        assert mail_status(session, ["<job@test>"]) == {"<job@test>": "sent"}


def test_header_injection_is_refused_and_an_unbuildable_row_does_not_block_the_others(db: Database, db_url: str,
                                                                                         tmp_path: Path) -> None:
    with db.writer() as session:
        for bad in ({"subject": "Hi\r\nBcc: all@example.com"}, {"headers": {"Reply-To": "a@b.example\nBcc: x@y.example"}},
                    {"to": "nobody"}):
            fields: dict[str, Any] = {"to": "ann@example.com", "subject": "Hi", "headers": None, **bad}
            with pytest.raises(InvalidInput):
                queue_mail(session, text="t", html=None, message_id="<bad@test>", now=T0, **fields)
        session.rollback()
    broken, fine = queue(db, "<broken@test>"), queue(db, "<fine@test>", at=T0 + timedelta(seconds=1))
    with db.writer() as session:  # written around the check, as an older release might have
        session.execute(sa.update(t.MailOutbox).where(t.MailOutbox.id == broken).values(headers={"X-Bad": "a\nb"}))
        session.commit()
    assert deliver_due_mail(db, settings_for(db_url, None, tmp_path), T0 + timedelta(seconds=2)) == 1
    assert (row(db, broken).status, row(db, fine).status) == ("failed", "sent")


def test_a_slow_round_hands_back_what_it_did_not_send(db: Database, db_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [queue(db, f"<slow{n}@test>", at=T0 + timedelta(seconds=n)) for n in range(3)]
    monkeypatch.setattr(mail_uc, "SEND_BUDGET", timedelta(seconds=0.2))
    handler = ScriptedHandler(delay=0.3)
    with smtp_server(handler) as url:
        assert deliver_due_mail(db, settings_for(db_url, url, tmp_path), T0 + timedelta(seconds=5)) == 1
    assert [row(db, i).status for i in ids] == ["sent", "queued", "queued"]
    assert all(row(db, i).next_attempt_at == T0 + timedelta(seconds=5) for i in ids[1:])  # due again at once
    assert [m["Message-ID"] for m in handler.received] == ["<slow0@test>"]
