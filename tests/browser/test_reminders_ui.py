"""/reminders in real Chromium: subscribe through a stubbed PushManager (no
vendor push service is reachable here), save a plan, and show a push that
went through the loopback push service, delivered to the worker over CDP."""
import json
import re
import time

import pytest

from webapp.jobs import dispatch


@pytest.fixture
def app(push_app):
    return push_app


STUB = """
(() => {
  const json = %s;
  let current = null;
  PushManager.prototype.subscribe = async function (options) {
    window.__subscribeCalls = (window.__subscribeCalls || 0) + 1;
    const key = new Uint8Array(options.applicationServerKey);
    current = { endpoint: json.endpoint, options, toJSON: () => json,
                unsubscribe: async () => { current = null; return true; } };
    window.__applicationServerKey = btoa(String.fromCharCode(...key));
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


def subscribed_page(launch_browser, live_server, push_service, client, **options):
    key = client.get("/api/push/public-key").json["publicKey"]
    sub = push_service.make_subscription(application_server_key=key)
    browser = launch_browser(live_server.url, permissions=["notifications"], **options)
    browser.context.add_init_script(STUB % json.dumps(sub))
    page = browser.open("/reminders")
    browser.wait_for_worker(page)
    page.get_by_role("button", name="Turn on reminders").click()
    page.locator("#plan").wait_for(state="visible", timeout=15000)
    return browser, page, sub


def worker_registration_id(page, session, timeout=15):
    """The worker's registration id, from the CDP events that follow
    ServiceWorker.enable; they arrive on their own time, so wait (bounded)."""
    ids = []
    session.on("ServiceWorker.workerRegistrationUpdated",
               lambda e: ids.extend(r["registrationId"] for r in e["registrations"] if not r["isDeleted"]))
    session.send("ServiceWorker.enable")
    deadline = time.monotonic() + timeout
    while not ids:
        assert time.monotonic() < deadline, "no service worker registration reported"
        page.evaluate("() => new Promise((r) => setTimeout(r, 50))")  # Playwright delivers events meanwhile
    return ids[0]


def push_and_wait_for_notifications(page, session, origin, data, *, tries=3, timeout=10):
    """Deliver a push to the worker over CDP and return the notifications it
    shows (bounded wait). On a busy machine headless Chromium sometimes loses
    the notification of a push delivered this way (the worker's showNotification
    resolves, getNotifications never lists it; a second delivery shows), so a
    push is delivered again, at most ``tries`` times in all."""
    registration = worker_registration_id(page, session)
    for _ in range(tries):
        session.send("ServiceWorker.deliverPushMessage",
                     {"origin": origin, "registrationId": registration, "data": json.dumps(data)})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            notes = page.evaluate("""navigator.serviceWorker.ready.then(r => r.getNotifications())
                .then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                                         actions: n.actions.map(a => a.title)})))""")
            if notes:
                return notes
            page.evaluate("() => new Promise((r) => setTimeout(r, 50))")  # Playwright delivers events meanwhile
    raise AssertionError(f"no notification shown after {tries} pushes")


def test_subscribe_edit_plan_and_receive_a_push(launch_browser, live_server, push_service, push_app, client):
    browser, page, sub = subscribed_page(launch_browser, live_server, push_service, client)
    assert page.evaluate("window.__subscribeCalls") == 1
    assert "Next water reminder" in page.locator("#next").inner_text()
    assert page.locator("#tz").inner_text()

    page.select_option("select[name='hydration.every_minutes']", "90")
    page.fill("input[name='quiet.from']", "22:30")
    page.get_by_role("button", name="Save schedule").click()
    page.get_by_text("Saved.", exact=True).wait_for(timeout=15000)
    token = page.evaluate("""new Promise(r => { const o = indexedDB.open('unknot', 1);
        o.onsuccess = () => { const g = o.result.transaction('kv').objectStore('kv').get('token');
        g.onsuccess = () => r(g.result); }; })""")
    plan = client.get("/api/reminders", headers={"Authorization": f"Bearer {token}"}).json
    assert plan["hydration"]["every_minutes"] == 90
    assert plan["quiet"]["from"] == "22:30"

    page.get_by_role("button", name="Send a test reminder").click()
    page.get_by_text("on its way").wait_for(timeout=15000)
    with push_app.app_context():
        assert dispatch.run_pass(push_app)["ok"] == 1
    [message] = push_service.wait_for(1)
    assert message.payload["kind"] == "test"

    # Hand the decrypted message to the worker as the push service would.
    session = page.context.new_cdp_session(page)
    hydration = {**message.payload, "kind": "hydration", "title": "Time for a glass of water",
                 "url": "/reminders?act=hydration", "tag": "hydration"}
    [note] = push_and_wait_for_notifications(page, session, live_server.url, hydration)
    assert note["title"] == "Time for a glass of water"
    assert note["tag"] == "hydration"
    assert note["data"]["url"] == live_server.url + "/reminders?act=hydration"  # resolved on our origin
    assert note["actions"] == ["Drank a glass", "Snooze 30 min"]
    assert browser.foreign_requests == []


def test_hostile_push_url_is_not_opened(launch_browser, live_server, push_service, client):
    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client)
    session = page.context.new_cdp_session(page)
    hostile = {"kind": "stretch", "title": "x", "body": "y", "url": "https://evil.example/", "tag": "stretch"}
    notes = push_and_wait_for_notifications(page, session, live_server.url, hostile)
    assert [n["data"] for n in notes] == [{"url": "/", "kind": "stretch"}]


def test_actions_page_logs_water_and_snoozes(launch_browser, live_server, push_service, client):
    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client)
    browser.open("/reminders?act=hydration", page=page)
    page.get_by_role("button", name="Drank a glass").click()
    page.get_by_text("1 glass today").wait_for(timeout=15000)
    page.get_by_role("button", name="Snooze 30 min").click()
    page.get_by_text("Snoozed").wait_for(timeout=15000)


BLOCKED = """
Object.defineProperty(Notification, "permission", { get: () => "denied" });
Notification.requestPermission = async () => "denied";
"""


def test_blocked_notifications_hide_the_button_and_show_the_way_back(launch_browser, live_server):
    browser = launch_browser(live_server.url)
    browser.context.add_init_script(BLOCKED)
    page = browser.open("/reminders")
    page.locator("#denied").wait_for(state="visible", timeout=10000)
    assert page.get_by_role("button", name="Turn on reminders").is_hidden(), "a button that cannot work"
    steps = page.locator("#denied li").all_inner_texts()
    assert len(steps) == 3 and "Allow" in steps[1]
    assert browser.console_errors == [] and browser.foreign_requests == []


@pytest.mark.parametrize(("locale", "twelve_hours"), [("en-US", True), ("en-GB", False)])
def test_messages_in_the_persons_words_and_clock(launch_browser, live_server, push_service, client, locale, twelve_hours):
    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client, locale=locale)
    page.fill("input[name='quiet.from']", "22:00")
    page.fill("input[name='quiet.until']", "07:00")
    page.fill("input[name='stretch.at']", "23:00")
    page.get_by_role("button", name="Save schedule").click()
    status = page.locator("#plan-status")
    status.get_by_text("Not saved").wait_for(timeout=5000)
    said = status.inner_text()
    assert "stretch.at" not in said and "quiet." not in said
    assert said.startswith("Not saved. Bedtime stretch: The stretch reminder at ")
    nbsp = "\u00a0"
    if twelve_hours:
        assert f"11:00{nbsp}PM" in said and f"10:00{nbsp}PM–07:00{nbsp}AM" in said, said
    else:
        assert "23:00" in said and "22:00–07:00" in said, said
    page.fill("input[name='stretch.at']", "21:00")
    page.fill("input[name='quiet.from']", "")
    page.get_by_role("button", name="Save schedule").click()
    status.get_by_text("Quiet hours from: choose a time.").wait_for(timeout=5000)
    page.fill("input[name='quiet.from']", "22:00")
    page.get_by_role("button", name="Save schedule").click()
    status.get_by_text("Saved.", exact=True).wait_for(timeout=5000)
    for line in page.locator("#next dd").all_inner_texts():
        assert (re.search(r"\d[\u00a0\u202f][AP]M$", line) is not None) == twelve_hours, line
        assert not re.search(r"\d [AP]M", line), "a time is never split across lines"
    assert browser.foreign_requests == []


def test_turn_off_deletes_the_subscription(launch_browser, live_server, push_service, client):
    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client)
    page.get_by_role("button", name="Turn off reminders").click()
    page.get_by_text("Reminders are off.").wait_for(timeout=15000)
    from sqlalchemy import func, select

    from webapp.store.db import db
    from webapp.store.models import Subscription

    with live_server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_worker_checks_in_when_a_reminder_reaches_it(launch_browser, live_server, push_service, push_app, client, clock):
    """forget-inactive counts only what a live device does: a shown reminder
    makes the worker call the API (at most twice a day), a dead endpoint's 201 cannot."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from webapp.store.db import db
    from webapp.store.models import Subscription

    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client)
    long_ago = clock() - timedelta(days=30)

    def seen():
        with push_app.app_context():
            return db.session.scalar(select(Subscription.last_seen_at))

    with push_app.app_context():
        db.session.execute(update(Subscription).values(last_seen_at=long_ago))
        db.session.commit()
    page.evaluate("""new Promise(r => { const o = indexedDB.open('unknot', 1);
        o.onsuccess = () => { const t = o.result.transaction('kv', 'readwrite');
        t.objectStore('kv').delete('alive-at'); t.oncomplete = () => r(); }; })""")
    assert seen() < long_ago + timedelta(minutes=1)

    session = page.context.new_cdp_session(page)
    push_and_wait_for_notifications(page, session, live_server.url,
                                    {"kind": "stretch", "title": "Stretch", "body": "b", "url": "/", "tag": "stretch"})
    deadline = time.monotonic() + 15
    while seen() < long_ago + timedelta(days=29):
        assert time.monotonic() < deadline, f"the worker did not check in after showing a reminder"
        page.evaluate("() => new Promise((r) => setTimeout(r, 50))")
