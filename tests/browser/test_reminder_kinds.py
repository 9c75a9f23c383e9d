"""A reminder kind is defined once, in the registry (webapp/reminders/kinds.py):
the server injects the app's kinds into the worker and into /reminders, so a
kind added through the registry alone is shown by the real worker with its
title and buttons, and its buttons go through the worker's outbox."""
import dataclasses
import json
import re
from html.parser import HTMLParser

import pytest
from test_offline_actions import tapped_offline, worker  # tests/browser is on the path
from test_reminders_ui import push_and_wait_for_notifications, subscribed_page

from sqlalchemy import select

from webapp.reminders.kinds import KINDS, Action, Kind, registry
from webapp.store.db import db
from webapp.store.models import Subscription
from webapp.web.assets import SW_SOURCE

WALK = Kind("walk", "Time for a short walk", "/prevent", "Next walk reminder",
            ("A test reminder of a kind added for this test.",), rule="times", noun="walk",
            plan={"enabled": True, "at": ["17:00"]},
            actions=(Action("later", "Later", post=("/api/reminders/snooze", {"kind": "walk", "minutes": 30})),))


@pytest.fixture
def app(make_app, push_service):
    return make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, REMINDER_KINDS=KINDS + (WALK,))


def injected_kinds(sw_source):
    return json.loads(sw_source.split("const KINDS = ", 1)[1].split(";\n", 1)[0])


def page_kinds(html):
    found = []

    class Finder(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend(value for name, value in attrs if name == "data-kinds")

    Finder().feed(html)
    [kinds] = found
    return json.loads(kinds)


def test_the_page_lists_kinds_in_the_registry_order(make_app):
    """Not alphabetically: a kind named "bath", added last, comes last."""
    bath = dataclasses.replace(WALK, name="bath", label="Next bath reminder")
    app = make_app(REMINDER_KINDS=KINDS + (bath,))
    on_page = page_kinds(app.test_client().get("/reminders").get_data(as_text=True))
    assert list(on_page) == ["hydration", "stretch", "test", "bath"]


def test_the_worker_source_names_no_kind():
    """Kinds, their words, actions and API bodies, and the key-value store come from the server."""
    source = SW_SOURCE.read_text(encoding="utf-8")
    for word in ("hydration", "stretch", "drank", "snooze", "Snooze", "/api/log", "bedtime", "minutes: 30",
                 "indexedDB"):
        assert word not in source, word


def test_the_apps_kinds_are_injected_into_the_worker_and_the_page(app, make_app, client):
    sw = client.get("/sw.js").get_data(as_text=True)
    assert "__UNKNOT_" not in sw
    assert injected_kinds(sw) == registry(app).client()
    assert injected_kinds(sw)["walk"]["actions"] == [
        {"action": "later", "title": "Later", "post": {"path": "/api/reminders/snooze", "body": {"kind": "walk", "minutes": 30}}}]
    assert page_kinds(client.get("/reminders").get_data(as_text=True)) == registry(app).client()
    # The pages' kv.js, inlined: its exports are the worker's kv.
    assert "const kv = (() => {" in sw and "return { get, set, remove, update };" in sw
    assert not re.search(r"^\s*(export|import)\b", sw, re.M)

    plain = make_app()
    plain_sw = plain.test_client().get("/sw.js").get_data(as_text=True)
    assert injected_kinds(plain_sw) == registry(plain).client() and "walk" not in injected_kinds(plain_sw)
    version = lambda source: source.split('const VERSION = "', 1)[1].split('"', 1)[0]  # noqa: E731
    assert version(sw) != version(plain_sw), "other kinds, another worker"


def test_a_kind_added_in_the_registry_is_shown_with_its_buttons(launch_browser, live_server, push_service, client):
    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client)
    assert "Next walk reminder" in page.locator("#next").inner_text(), "its label, from the registry"
    # The form holds water, stretch and quiet hours; saving it keeps the walk's own section as stored.
    page.locator('[name="stretch.at"]').fill("21:00")
    page.get_by_role("button", name="Save schedule").click()
    page.locator("#plan-status").get_by_text("Saved.", exact=True).wait_for(timeout=15000)
    with client.application.app_context():
        [plan] = db.session.scalars(select(Subscription.plan)).all()
    assert plan["stretch"]["at"] == ["21:00"] and plan["walk"] == WALK.plan

    session = page.context.new_cdp_session(page)
    walk = {"kind": "walk", "title": "Time for a short walk", "body": "A test reminder.", "url": "/prevent",
            "tag": "walk"}
    [note] = push_and_wait_for_notifications(page, session, live_server.url, walk)
    assert note["title"] == "Time for a short walk"
    assert note["actions"] == ["Later"]
    assert note["data"] == {"url": live_server.url + "/prevent", "kind": "walk"}

    # Its button goes into the outbox with the registry's call and the time of the tap.
    [item] = tapped_offline(live_server, worker(browser), "later", "walk", "/prevent")
    assert item["path"] == "/api/reminders/snooze"
    assert {k: v for k, v in item["body"].items() if k != "at"} == {"kind": "walk", "minutes": 30}
    assert item["body"]["at"] == item["id"]

    # /reminders?act=walk offers the same buttons.
    browser.open("/reminders?act=walk", page=page)
    page.locator("#act").wait_for(state="visible", timeout=15000)
    assert page.locator("#act-heading").inner_text() == "Time for a short walk"
    assert page.locator("#act-buttons button").all_inner_texts() == ["Later"]
    page.get_by_role("button", name="Later").click()
    page.locator("#act-status").get_by_text("Snoozed: next reminder").wait_for(timeout=15000)
    assert browser.console_errors == [] and browser.foreign_requests == []
