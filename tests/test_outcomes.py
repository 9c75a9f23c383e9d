"""What each push-service answer leads to, through a real dispatch pass:
the outcome table (webapp/outcomes.py), WNS's 406 throttling, and 401/403
as configuration errors that keep the subscription and show on /healthz."""
import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.seed import add_due
from webapp.jobs import dispatch
from webapp.push import failures, outcomes
from webapp.store.db import db
from webapp.store.models import DueReminder, Subscription
from webapp.push.channel import channel

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app, push_service, clock):
    clock.set(T0)
    return make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)


def seed(app, service, n):
    key = channel(app).public_key
    subs = [service.make_subscription(application_server_key=key) for _ in range(n)]
    with app.app_context(), db.begin() as session:
        return add_due(session, subs, T0 - timedelta(seconds=1))


def run(app):
    with app.app_context():
        return dispatch.run_pass(app)


def rows(app):
    with app.app_context(), db.begin() as session:
        return session.execute(select(DueReminder.due_at, DueReminder.occurrence, DueReminder.attempts)).all()


@pytest.mark.parametrize("status, outcome", [
    (200, "ok"), (201, "ok"), (202, "ok"), (301, "drop"), (400, "drop"), (401, "config"), (403, "config"),
    (404, "gone"), (406, "retry"), (410, "gone"), (413, "drop"), (429, "retry"), (451, "drop"),
    (500, "retry"), (503, "retry"),
])
def test_the_table_gives_every_status_an_outcome(status, outcome):
    assert outcomes.for_status(status) == outcome


def test_every_row_of_the_table_says_where_it_comes_from():
    assert all(source.strip() for *_, source in outcomes.TABLE)
    assert all(why.strip() for *_, why in outcomes.FAILURES)
    assert outcomes.for_failure(failures.HTTP2Only("x")) == "config"
    assert outcomes.for_failure(failures.Refused("x")) == "drop"
    assert outcomes.for_failure(failures.Timeout("x")) == "retry"


def test_406_with_retry_after_is_throttling_retried_after_it(app, push_service, clock):
    """WNS (Edge) throttles with 406 Not Acceptable and Retry-After."""
    seed(app, push_service, 3)
    push_service.respond(406, retry_after=300)
    assert run(app) == {"retry": 3}
    assert {(due, attempts) for due, _, attempts in rows(app)} == {(T0 + timedelta(seconds=300), 1)}
    push_service.respond(None)
    clock.advance(timedelta(seconds=299))
    assert run(app) == {}
    clock.advance(timedelta(seconds=1))
    assert run(app) == {"ok": 3}
    assert len(push_service.wait_for(3)) == 3


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_keep_the_subscription_show_on_healthz_and_log_once(app, push_service, clock, status,
                                                                        caplog):
    ids = seed(app, push_service, 4)
    client = app.test_client()
    assert client.get("/healthz").json["push"] == {"ok": True, "problems": []}
    push_service.respond(status)
    with caplog.at_level(logging.ERROR, logger="webapp.push.sender"):
        assert run(app) == {"config": 4}
        clock.advance(timedelta(hours=2, minutes=1))  # the next hydration reminder, refused again
        assert run(app) == {"config": 4}
    logged = [r for r in caplog.records if "configuration error" in r.getMessage()]
    assert len(logged) == 1 and push_service.origin in logged[0].getMessage()
    with app.app_context(), db.begin() as session:
        assert sorted(session.scalars(select(Subscription.id))) == sorted(ids)  # kept
        # Not retried: each row moved on to its next occurrence.
        assert session.scalar(select(func.min(DueReminder.occurrence))) == 2
    body = client.get("/healthz").json
    assert body["status"] in ("degraded", "failing")
    [problem] = body["push"]["problems"]
    assert problem["service"] == push_service.origin and problem["status"] == status
    assert problem["error"].startswith(f"HTTP {status}")
    # Fixed (the operator set the right key): the next delivery clears it.
    push_service.respond(None)
    clock.advance(timedelta(hours=2))
    assert run(app) == {"ok": 4}
    assert client.get("/healthz").json["push"] == {"ok": True, "problems": []}


def test_a_configuration_error_is_forgotten_by_healthz_after_its_window(app, push_service, clock):
    seed(app, push_service, 1)
    push_service.respond(403)
    run(app)
    client = app.test_client()
    assert client.get("/healthz").json["push"]["ok"] is False
    clock.advance(timedelta(minutes=16))
    assert client.get("/healthz").json["push"]["ok"] is True
