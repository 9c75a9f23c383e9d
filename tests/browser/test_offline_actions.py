"""Notification actions tapped offline ("Drank a glass", "Snooze 30 min"):
kept in the worker's outbox (IndexedDB), sent when the connection returns,
counted exactly once, even when the same tap arrives twice."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from test_reminders_ui import subscribed_page  # tests/browser is on the path (no __init__.py)

from webapp.store.db import db
from webapp.store.models import WaterLog


@pytest.fixture
def app(push_app):
    return push_app


def glasses(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WaterLog))


def token_of(page):
    return page.evaluate("""new Promise(r => { const o = indexedDB.open('unknot', 1);
        o.onsuccess = () => { const g = o.result.transaction('kv').objectStore('kv').get('token');
        g.onsuccess = () => r(g.result); }; })""")


def worker(browser):
    [sw] = browser.context.service_workers
    return sw


def tapped_offline(live_server, sw, action, kind, url):
    """Tap a notification's button while the server is down: the worker's outbox after it."""
    live_server.stop()
    try:
        sw.evaluate("([action, kind, url]) => handleClick(action, kind, url)", [action, kind, url])
        return sw.evaluate("kv.get('outbox')")
    finally:
        live_server.start()


def test_drank_a_glass_offline_is_sent_once_when_back(launch_browser, live_server, push_service, client, clock):
    clock.set(datetime.now(UTC))  # the server's clock and the browser's agree
    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client)
    browser.context.grant_permissions(["background-sync"])  # as a phone's browser gives it
    sw = worker(browser)
    assert glasses(live_server.app) == 0
    live_server.stop()
    try:
        sw.evaluate("handleClick('drank', 'hydration', '/reminders?act=hydration')")
        outbox = sw.evaluate("kv.get('outbox')")
        assert [item["body"]["kind"] for item in outbox] == ["water"]
        assert sw.evaluate("self.registration.sync.getTags()") == ["unknot-outbox"], "Background Sync asked to retry"
        assert sw.evaluate("flushOutbox()") is False, "still offline: kept"
    finally:
        live_server.start()
    assert glasses(live_server.app) == 0
    # The next page open sends it (Background Sync may come first: once either way).
    page.reload()
    for _ in range(100):  # bounded wait for the outbox to empty
        if sw.evaluate("kv.get('outbox')") == []:
            break
        page.evaluate("() => new Promise((r) => setTimeout(r, 50))")
    assert sw.evaluate("kv.get('outbox')") == []
    assert glasses(live_server.app) == 1
    # A second page open, a late sync: nothing more.
    page.reload()
    assert sw.evaluate("flushOutbox()") is True
    assert glasses(live_server.app) == 1
    assert browser.foreign_requests == []


def test_snooze_offline_counts_from_the_tap(launch_browser, live_server, push_service, client, clock):
    clock.set(datetime.now(UTC))
    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client)
    sw = worker(browser)
    # Quiet hours far from now, whatever the time of day the test runs.
    auth = {"Authorization": f"Bearer {token_of(page)}"}
    plan = client.get("/api/reminders", headers=auth).json
    quiet = [(clock() + timedelta(hours=h)).astimezone(ZoneInfo(plan["timezone"])).strftime("%H:00") for h in (10, 12)]
    plan.pop("next")
    assert client.put("/api/reminders", headers=auth, json={**plan, "stretch": {**plan["stretch"], "enabled": False},
                                                         "quiet": dict(zip(("from", "until"), quiet))}).status_code == 200
    [item] = tapped_offline(live_server, sw, "snooze", "hydration", "/reminders?act=hydration")
    clock.advance(timedelta(minutes=20))  # the connection returns 20 minutes later
    assert sw.evaluate("flushOutbox()") is True
    tapped = datetime.fromisoformat(item["body"]["at"])
    plan = client.get("/api/reminders", headers=auth).json
    assert abs(datetime.fromisoformat(plan["next"]["hydration"]) - (tapped + timedelta(minutes=30))) < timedelta(seconds=2)
    assert browser.foreign_requests == []


def test_the_same_tap_twice_is_logged_once(client, push_service, clock):
    key = client.get("/api/push/public-key").json["publicKey"]
    sub = push_service.make_subscription(application_server_key=key)
    token = client.post("/api/subscriptions", json={"subscription": sub, "timezone": "UTC"}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    at = (clock() - timedelta(minutes=20)).isoformat(timespec="milliseconds")
    first = client.post("/api/log", json={"kind": "water", "at": at}, headers=auth)
    again = client.post("/api/log", json={"kind": "water", "at": at}, headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["today"] == again.json["today"] == 1
    assert client.post("/api/log", json={"kind": "water"}, headers=auth).json["today"] == 2, "no at: every tap counts"
    for bad in ("yesterday", "2026-01-01T10:00:00", 5, (clock() - timedelta(days=8)).isoformat(),
                (clock() + timedelta(hours=1)).isoformat()):
        response = client.post("/api/log", json={"kind": "water", "at": bad}, headers=auth)
        assert response.status_code == 400 and response.json["error"] == "invalid_at", bad
    assert client.post("/api/log", json={"kind": "water"}, headers=auth).json["today"] == 3
    # A snooze whose 30 minutes were over before it arrived changes nothing; a recent one counts from the tap.
    before = client.get("/api/reminders", headers=auth).json["next"]
    old = (clock() - timedelta(minutes=45)).isoformat()
    assert client.post("/api/reminders/snooze", json={"kind": "hydration", "minutes": 30, "at": old},
                       headers=auth).json["next"] == before
    recent = clock() - timedelta(minutes=10)
    snoozed = client.post("/api/reminders/snooze", json={"kind": "hydration", "minutes": 30, "at": recent.isoformat()},
                          headers=auth).json["next"]["hydration"]
    assert snoozed is None or datetime.fromisoformat(snoozed) >= recent + timedelta(minutes=30) - timedelta(seconds=1)
