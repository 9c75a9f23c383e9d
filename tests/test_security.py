"""Hostile endpoints, headers, secrets and limits: each check here fails
without the code it covers."""
import os
import socket
import stat

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.pushservice import PushService
from webapp import create_app
from webapp.config import DEFAULT_PUSH_ORIGINS
from webapp.push.endpoints import _CANONICAL, AllowList, EndpointError, check_endpoint, parse_endpoint
from webapp.push.sender import Fanout
from webapp.push.vapid import VapidKeyError, VapidSigner, load_or_create_vapid_key

HOSTILE = [
    "https://10.0.0.1/push",
    "https://169.254.169.254/latest/meta-data/",
    "https://localhost/push",
    "https://[::1]/push",
    "https://fcm.googleapis.com.evil.example/fcm/send/x",
    "https://evil.example/?x.push.apple.com/",
    "https://evil.example/#fcm.googleapis.com",
    "https://user@fcm.googleapis.com/fcm/send/x",
    "https://user:secret@fcm.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.com@evil.example/x",
    "https://2130706433/push",
    "https://0x7f000001/push",
    "https://0177.0.0.1/push",
    "https://127.1/push",
    "https://0.0.0.0/push",
    "https://[::ffff:127.0.0.1]/push",
    "https://[fe80::1%25eth0]/push",
    "http://fcm.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.com:8443/fcm/send/x",
    "https://evilgoogleapis.com/x",
    "https://push.apple.com.evil.example/x",
    "https://%66cm.googleapis.com/x",
    "https://fcm.googleapis.com\u3002evil.example/x",
    "https://web.push.apple.com\\@evil.example/x",
    "https://fcm.googleapis.com/x\r\nHost: evil.example",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "gopher://fcm.googleapis.com/x",
    "//fcm.googleapis.com/x",
    "https://" + "a" * 2050 + ".googleapis.com/x",
]


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) any name lookup or connection made meanwhile."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network use during a test that must not use it")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", lambda self, *a: refuse(*a))
    return calls


def test_hostile_endpoints_are_refused_and_never_contacted(make_app, no_network):
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    good_keys = PushService().make_subscription()["keys"]
    for endpoint in HOSTILE:
        response = client.post("/api/subscriptions", json={
            "subscription": {"endpoint": endpoint, "keys": good_keys}, "timezone": "UTC"})
        assert response.status_code == 400, endpoint
        assert response.json["error"] == "endpoint_not_allowed", endpoint
        assert response.json["message"]
    assert no_network == []


def test_default_allow_list_names_the_push_hosts_exactly():
    allowed = AllowList.parse(DEFAULT_PUSH_ORIGINS)
    for endpoint in ["https://fcm.googleapis.com/fcm/send/abc:def",
                     "https://fcm.googleapis.com/wp/abc:def",
                     "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
                     "https://web.push.apple.com/QGuQy",
                     "https://wns2-par02p.notify.windows.com/w/?token=AwYAAAB",
                     "https://db5p.notify.windows.com/w/?token=BQYAAAB"]:
        assert check_endpoint(endpoint, allowed).url == endpoint
    # Other hosts of the same providers are not push services: never called.
    for endpoint in ["https://storage.googleapis.com/x", "https://www.googleapis.com/x",
                     "https://oauth2.googleapis.com/token", "https://android.googleapis.com/gcm/send/x",
                     "https://evil.push.services.mozilla.com/x", "https://push.services.mozilla.com/x",
                     "https://api.push.apple.com/3/device/x", "https://x.web.push.apple.com/x",
                     "https://api.push.apple.com.evil/x", "https://notify.windows.com.evil.example/x"]:
        with pytest.raises(EndpointError):
            check_endpoint(endpoint, allowed)


def test_spellings_of_one_endpoint_are_one_subscription(make_app, no_network):
    """Upper-case host, :443 and :0443 are the same push endpoint: stored once, normalised."""
    from sqlalchemy import select

    from webapp.store.db import db
    from webapp.store.models import Subscription

    app = make_app()
    client = app.test_client()
    keys = PushService().make_subscription()["keys"]
    spellings = ["https://fcm.googleapis.com/fcm/send/abc:DEF", "https://FCM.googleapis.com/fcm/send/abc:DEF",
                 "https://fcm.googleapis.com:443/fcm/send/abc:DEF", "HTTPS://Fcm.GoogleAPIs.com:0443/fcm/send/abc:DEF"]
    statuses = [client.post("/api/subscriptions", json={
        "subscription": {"endpoint": endpoint, "keys": keys}, "timezone": "UTC"}).status_code
        for endpoint in spellings]
    assert statuses == [201, 200, 200, 200]
    with app.app_context():
        assert db.session.scalars(select(Subscription.endpoint)).all() == [spellings[0]]
    assert no_network == []


def test_the_sender_parses_endpoints_as_subscribe_does():
    """One parser: what subscribe stores is what the sender sends to."""
    from webapp.push.sender import _parse_endpoint

    for url in ["https://FCM.googleapis.com:443/fcm/send/a?b=c", "http://127.0.0.1:8123/push/x"]:
        parsed = parse_endpoint(url)
        assert _parse_endpoint(url) == (parsed.origin, parsed.netloc, parsed.target)
    for url in ["https://fcm.googleapis.com/caf\u00e9", "https://fcm.googleapis.com/a\x7fb"]:
        with pytest.raises(ValueError):
            _parse_endpoint(url)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(_CANONICAL, fullmatch=True))
@example("http://h:80/a").via("the scheme's own port")
@example("https://h:443/a").via("the scheme's own port")
@example("https://h:80/a").via("another scheme's port")
@example("http://h:65536/a").via("no such port")
def test_the_quick_parse_of_canonical_endpoints_is_the_general_one(url):
    """The sender's quick path for already-normalised endpoints gives what the general parse gives."""
    from webapp.push.endpoints import _parse_any

    def parsed(parse):
        try:
            return parse(url)
        except EndpointError as e:
            return str(e)

    assert parsed(parse_endpoint) == parsed(_parse_any)


def test_only_normalised_endpoints_take_the_quick_path():
    for url in ["https://FCM.googleapis.com/a", "https://fcm.googleapis.com:0443/a", "https://fcm.googleapis.com/a?b",
                "https://fcm.googleapis.com/a#b", "https://user@fcm.googleapis.com/a", "https://h/a b",
                "https://[::1]/a", "https://h", "https://h/a\\b", "https://h/caf\u00e9"]:
        assert not _CANONICAL.fullmatch(url), url
    assert parse_endpoint("https://FCM.googleapis.com:443/a?b").url == "https://fcm.googleapis.com/a?b"
    assert parse_endpoint("https://fcm.googleapis.com:443/a").url == "https://fcm.googleapis.com/a"
    assert parse_endpoint("http://push.example:80/a").url == "http://push.example/a"
    assert parse_endpoint("http://push.example:443/a").url == "http://push.example:443/a"
    assert parse_endpoint("http://127.0.0.1:8123/a").netloc == "127.0.0.1:8123"
    with pytest.raises(EndpointError):
        parse_endpoint("http://127.0.0.1:65536/a")
    with pytest.raises(EndpointError):
        parse_endpoint("https://user@fcm.googleapis.com/a")


def test_a_name_that_resolves_to_a_private_address_is_never_connected(monkeypatch):
    """DNS may say anything: the connection itself refuses non-public addresses."""
    with PushService() as service:
        real = socket.getaddrinfo

        def lying_dns(host, port, *args, **kwargs):
            if host == "push.example.com":
                return real("127.0.0.1", port, *args, **kwargs)
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", lying_dns)
        from cryptography.hazmat.primitives.asymmetric import ec

        sender = Fanout(VapidSigner(ec.generate_private_key(ec.SECP256R1()), "mailto:t@unknot.app"))
        sub = service.make_subscription()
        endpoint = sub["endpoint"].replace("127.0.0.1", "push.example.com")
        result = sender.send(endpoint, *sub["keys"].values(), b"{}", ttl=60, urgency="normal", topic="t")
        sender.close()
    assert (result.status, result.outcome) == (None, "drop")
    assert "not a public address" in result.error
    assert service.hits == 0


def test_proxy_environment_is_ignored(monkeypatch):
    with PushService() as service, PushService() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.origin)
        monkeypatch.setenv("HTTPS_PROXY", proxy.origin)
        monkeypatch.setenv("ALL_PROXY", proxy.origin)
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        sender = Fanout(VapidSigner(key, "mailto:t@unknot.app"), trusted_origins={service.origin})
        sub = service.make_subscription()
        result = sender.send(sub["endpoint"], *sub["keys"].values(), b"{}", ttl=60, urgency="normal", topic="t")
        sender.close()
    assert result.outcome == "ok"
    assert proxy.hits == 0 and service.hits == 1


def test_security_headers_on_every_response(client):
    for path in ["/", "/guide/calf", "/guide/nope", "/sw.js", "/manifest.webmanifest",
                 "/api/push/public-key", "/api/nope", "/static/css/app.css"]:
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "camera=()" in headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in headers


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://unknot.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_need_no_inline_code(client):
    import re

    for path in ["/", "/guide/calf", "/routine/bedtime", "/prevent", "/seek-care", "/about",
                 "/cramps", "/reminders", "/diary", "/guide/nope"]:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert "<style" not in html, path


def test_vapid_key_with_wide_mode_is_refused(tmp_path):
    path = tmp_path / "vapid.pem"
    load_or_create_vapid_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(VapidKeyError):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
                    "VAPID_PRIVATE_KEY": str(path)})


def test_vapid_key_is_never_served(client, app):
    from pathlib import Path

    pem = Path(app.config["VAPID_PRIVATE_KEY"]).read_text()
    body = pem.splitlines()[1]
    for path in ["/static/../instance/vapid.pem", "/instance/vapid.pem", "/vapid.pem"]:
        assert body not in client.get(path).get_data(as_text=True)


def test_production_needs_a_secret_key(tmp_path, monkeypatch):
    from webapp.push.vapid import load_or_create_vapid_key

    load_or_create_vapid_key(tmp_path / "k.pem")  # production never makes its own (tests/test_production.py)
    base = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite", "VAPID_PRIVATE_KEY": str(tmp_path / "k.pem"),
            "VAPID_SUBJECT": "mailto:ops@unknot.app", "SCHEDULER": "off", "PRODUCTION": True}
    with pytest.raises(RuntimeError, match="UNKNOT_SECRET_KEY"):
        create_app(base)
    assert create_app({**base, "SECRET_KEY": "x" * 32}).secret_key == "x" * 32


def test_secret_key_made_once_for_the_embedded_default(tmp_path):
    config = {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite", "VAPID_PRIVATE_KEY": str(tmp_path / "k.pem"),
              "SCHEDULER": "off"}
    first = create_app(config)
    second = create_app(config)
    assert first.secret_key and first.secret_key == second.secret_key
    key_file = os.path.join(first.instance_path, "secret_key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_rate_limit_answers_429_json(subscribe):
    _, token = subscribe()
    statuses = [subscribe.client.post("/api/reminders/test", headers={"Authorization": f"Bearer {token}"})
                for _ in range(4)]
    assert [r.status_code for r in statuses] == [202, 202, 202, 429]
    limited = statuses[-1]
    assert limited.json["error"] == "too_many_requests" and limited.json["message"]
    assert int(limited.headers["Retry-After"]) > 0


def test_per_device_limits_key_on_the_device_not_the_header(subscribe):
    """Spellings of one token are one device: 3 test pushes a minute, not 3 per spelling."""
    _, token = subscribe()
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer  {token}",
                 f"Bearer {token} ", f"bEaReR {token}  ", f"Bearer   {token}"]
    statuses = [subscribe.client.post("/api/reminders/test", headers={"Authorization": header}).status_code
                for header in spellings]
    assert statuses == [202, 202, 202, 429, 429, 429, 429]
    # Another device behind the same address has its own count.
    _, other = subscribe()
    assert subscribe.client.post("/api/reminders/test", headers={"Authorization": f"Bearer {other}"}).status_code == 202


def test_tokens_are_stored_only_as_hashes(subscribe, push_app):
    from sqlalchemy import select

    from webapp.store.db import db
    from webapp.store.models import Subscription

    _, token = subscribe()
    with push_app.app_context():
        stored = db.session.scalar(select(Subscription.token_hash))
    assert token not in stored and len(stored) == 64


def test_forget_inactive_deletes_silent_subscriptions_and_old_logs(subscribe, push_app, push_service, clock):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import func, select

    from webapp.jobs import dispatch
    from webapp.store.db import db
    from webapp.store.models import Delivery, Subscription

    _, kept = subscribe("UTC")
    silent, _ = subscribe("UTC")
    push_service.respond(400, subscription=silent)  # this device is never reached
    clock.set(datetime(2026, 3, 2, 14, 0, 1, tzinfo=timezone.utc))
    with push_app.app_context():
        dispatch.run_pass(push_app)
    clock.advance(timedelta(days=61))
    # The kept device shows it is alive itself (webapp/store/retention.py: a 201 does not count).
    assert subscribe.client.get("/api/reminders", headers={"Authorization": f"Bearer {kept}"}).status_code == 200
    with push_app.app_context():
        dispatch.run_pass(push_app)
    result = push_app.test_cli_runner().invoke(args=["forget-inactive"])
    assert result.exit_code == 0, result.output
    assert "subscriptions=1 deliveries=2" in result.output
    with push_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscription)) == 1
        sent = db.session.scalars(select(Delivery.sent_at)).all()
    assert sent and all(moment > clock() - timedelta(days=30) for moment in sent)


def test_delivery_log_never_keeps_the_endpoint(subscribe, push_app, push_service, clock):
    from datetime import datetime, timezone

    from sqlalchemy import select

    from webapp.jobs import dispatch
    from webapp.store.db import db
    from webapp.store.models import Delivery

    sub, _ = subscribe("UTC")
    clock.set(datetime(2026, 3, 2, 14, 0, 1, tzinfo=timezone.utc))
    with push_app.app_context():
        dispatch.run_pass(push_app)
        rows = db.session.execute(select(Delivery)).scalars().all()
    assert rows
    path = sub["endpoint"].split("/push/")[1]
    for row in rows:
        assert path not in f"{row.service} {row.error}"
        assert row.service == push_service.origin


def test_behind_a_trusted_proxy_the_client_address_and_https_are_seen(make_app):
    app = make_app(TRUSTED_PROXIES=1)
    client = app.test_client()
    response = client.get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    # Without the setting, the forwarded headers are not believed.
    plain = make_app().test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in plain.headers


def test_the_scheduler_runs_forget_inactive_daily(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    from webapp.jobs import scheduler

    jobs = BackgroundScheduler()
    scheduler.add_jobs(jobs, app)
    daily = jobs.get_job("forget")
    assert daily.trigger.interval.total_seconds() == 24 * 3600
    scheduler.forget(app)  # runs against the app's database without error


def test_no_secret_reaches_the_logs(subscribe, push_app, push_service, clock, caplog):
    """Tokens, keys and endpoint paths identify or unlock a device: never logged."""
    import logging
    from datetime import datetime, timezone
    from pathlib import Path

    from webapp.jobs import scheduler

    caplog.set_level(logging.DEBUG)
    sub, token = subscribe("UTC")
    push_service.respond(500, times=1)
    clock.set(datetime(2026, 3, 2, 14, 0, 1, tzinfo=timezone.utc))
    scheduler.tick(push_app)
    subscribe.client.post("/api/log", json={"kind": "water"}, headers={"Authorization": f"Bearer {token}"})
    subscribe.client.get("/api/reminders", headers={"Authorization": "Bearer wrong-" + token})
    pem = Path(push_app.config["VAPID_PRIVATE_KEY"]).read_text().splitlines()[1]
    logged = caplog.text
    assert logged  # something was logged, and none of it is secret
    for secret in (token, sub["keys"]["auth"], sub["keys"]["p256dh"], sub["endpoint"].split("/push/")[1],
                   pem, push_app.secret_key):
        assert secret not in logged


def test_migration_0003_normalises_stored_endpoints_and_keeps_the_oldest(make_app):
    """Rows stored before endpoints were normalised: one row per endpoint, the oldest kept."""
    from datetime import datetime, timedelta

    import sqlalchemy as sa
    from alembic import command

    from webapp.store import migrate
    from webapp.store.db import db

    app = make_app()
    t0 = datetime(2026, 1, 1, 12, 0)
    rows = [  # id, endpoint, minutes after t0
        ("a" * 32, "https://FCM.googleapis.com:443/fcm/send/one", 0),
        ("b" * 32, "https://fcm.googleapis.com/fcm/send/one", 5),
        ("c" * 32, "https://fcm.googleapis.com:0443/fcm/send/one", 9),
        ("d" * 32, "HTTPS://Web.Push.Apple.com/two", 1),
        ("e" * 32, "https://updates.push.services.mozilla.com/wpush/v2/three", 2),
        ("f" * 32, "https://fcm.googleapis.com:99999/bad", 3),
    ]
    with app.app_context():
        with db.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "0002")
        subs = sa.table("subscriptions", sa.column("plan", sa.JSON), *(sa.column(c) for c in (
            "id", "endpoint", "p256dh", "auth", "token_hash", "created_at")))
        water = sa.table("water_log", sa.column("subscription_id"), sa.column("at"), sa.column("local_date"))
        with db.engine.begin() as conn:
            for sub_id, endpoint, minutes in rows:
                conn.execute(sa.insert(subs).values(id=sub_id, endpoint=endpoint, p256dh="p", auth="a",
                                                    token_hash=sub_id * 2, plan={},
                                                    created_at=t0 + timedelta(minutes=minutes)))
                conn.execute(sa.insert(water).values(subscription_id=sub_id, at=t0, local_date="2026-01-01"))
        migrate.upgrade(app)
        with db.engine.connect() as conn:
            stored = dict(conn.execute(sa.select(subs.c.id, subs.c.endpoint)).all())
            logged = {r[0] for r in conn.execute(sa.select(water.c.subscription_id))}
    assert stored == {
        "a" * 32: "https://fcm.googleapis.com/fcm/send/one",
        "d" * 32: "https://web.push.apple.com/two",
        "e" * 32: "https://updates.push.services.mozilla.com/wpush/v2/three",
        "f" * 32: "https://fcm.googleapis.com:99999/bad",  # does not parse: left alone
    }
    assert logged == set(stored)


@pytest.mark.parametrize("url,ok", [
    ("/guide/calf", True), ("/routine/bedtime?source=reminder", True), ("/", True), ("/reminders#plan", True),
    ("/guide/calf?next=//x", True),  # the query never resolves as a host
    ("/..//evil.test/x", False), ("/%2e%2e//evil.test/x", False), ("/.%2E/x", False), ("/./x", False),
    ("/a/../b", False), ("/a//b", False), ("//evil.test/x", False), ("/\\evil.test/x", False),
    ("https://evil.test/x", False), ("javascript:alert(1)", False), ("guide/calf", False), ("", False),
    ("/guide/calf\n", False), ("/guide /calf", False), (None, False),
])
def test_payload_urls_are_paths_that_resolve_to_themselves(url, ok):
    from webapp.push.message import encode_payload

    if ok:
        assert b'"url"' in encode_payload("test", "t", "b", url, "test")
    else:
        with pytest.raises(ValueError):
            encode_payload("test", "t", "b", url, "test")
