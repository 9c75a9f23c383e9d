"""webapp.push against the loopback push service in tests/pushservice.py."""
import base64
import email.utils
import gc
import json
import os
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for pushservice

from pushservice import PushService  # noqa: E402
from webapp.push.sender import STEP, YOUNG, Fanout, Message
from webapp.push.message import (
    MAX_PAYLOAD,
    PayloadTooLarge,
    encode_payload,
    encrypt,
    parse_retry_after,
    topic_for,
)
from webapp.push.vapid import VapidKeyError, VapidSigner, load_or_create_vapid_key, public_key_b64

SUBJECT = "mailto:test@unknot.example"


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(header_value):
    token = header_value.split("t=", 1)[1].split(",", 1)[0]
    head, claims, sig = token.split(".")
    return token, json.loads(unb64(head)), json.loads(unb64(claims)), unb64(sig)


def payload(kind="hydration", body="Time for a glass of water."):
    return encode_payload(kind, "Drink some water", body, "/prevent#water", f"unknot-{kind}")


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def signer(key):
    return VapidSigner(key, SUBJECT)


class Loopback:
    """Every loopback push service these tests start is trusted; nothing else."""

    def __contains__(self, origin):
        return origin.startswith("http://127.0.0.1:")


LOOPBACK = Loopback()


def make_sender(signer, **kw):
    return Fanout(signer, **{"connect_timeout": 2, "timeout": 2, "concurrency": 4,
                             "trusted_origins": LOOPBACK, **kw})


@pytest.fixture
def sender(signer):
    s = make_sender(signer)
    yield s
    s.close()


@pytest.fixture
def svc():
    with PushService() as service:
        yield service


def send(sender, sub, data=None, **kw):
    kw = {"ttl": 600, "urgency": "normal", "topic": topic_for("hydration"), **kw}
    keys = sub.get("keys", {})
    return sender.send(sub["endpoint"], keys.get("p256dh"), keys.get("auth"),
                       payload() if data is None else data, **kw)


# -- accepted messages ----------------------------------------------------------

def test_message_is_accepted_and_decrypts_to_the_payload(sender, signer, svc):
    sub = svc.make_subscription()
    result = send(sender, sub, ttl=900, urgency="high", topic="unknot-stretch")
    assert (result.status, result.outcome, result.error) == (201, "ok", None)
    assert result.origin == svc.origin and result.elapsed > 0
    [msg] = svc.wait_for(1)
    assert msg.payload == {
        "kind": "hydration",
        "title": "Drink some water",
        "body": "Time for a glass of water.",
        "url": "/prevent#water",
        "tag": "unknot-hydration",
    }
    assert msg.headers["ttl"] == "900"
    assert msg.headers["urgency"] == "high"
    assert msg.headers["topic"] == "unknot-stretch"
    assert msg.headers["content-encoding"] == "aes128gcm"
    assert msg.claims["aud"] == svc.origin
    assert msg.claims["sub"] == SUBJECT
    assert svc.rejections == []


def test_the_service_accepts_pywebpush_too(key):
    """Cross-check: the loopback service agrees with an independent client."""
    pywebpush = pytest.importorskip("pywebpush")
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid02

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with PushService() as svc:
        sub = svc.make_subscription()
        response = pywebpush.webpush(sub, '{"kind":"test"}', vapid_private_key=Vapid02.from_pem(pem),
                                     vapid_claims={"sub": SUBJECT}, ttl=60,
                                     headers={"Urgency": "low", "Topic": "unknot-test"}, timeout=5)
        assert response.status_code == 201
        [msg] = svc.wait_for(1)
        assert msg.payload == {"kind": "test"} and msg.claims["aud"] == svc.origin


def test_the_service_refuses_what_a_real_one_would(svc):
    """The loopback service itself: each broken rule gets a real service's answer."""
    def signed(aud=svc.origin, now=None):
        return VapidSigner(ec.generate_private_key(ec.SECP256R1()), SUBJECT).header(aud, now=now)

    sub = svc.make_subscription()
    good = {"Authorization": signed(), "TTL": "60", "Urgency": "normal", "Topic": "t",
            "Content-Encoding": "aes128gcm"}
    body = encrypt(sub["keys"]["p256dh"], sub["keys"]["auth"], b"{}")
    cases = [
        ({"Authorization": None}, body, 401),
        ({"Authorization": signed(now=time.time() - 13 * 3600)}, body, 401),  # expired
        ({"Authorization": signed(now=time.time() + 13 * 3600)}, body, 401),  # exp > 24 h ahead
        ({"Authorization": good["Authorization"].replace("vapid", "WebPush")}, body, 401),
        ({"Authorization": signed("http://127.0.0.1:1")}, body, 403),  # wrong aud
        ({"TTL": None}, body, 400),
        ({"Urgency": "asap"}, body, 400),
        ({"Topic": "x" * 33}, body, 400),
        ({"Content-Encoding": "aesgcm"}, body, 400),
        ({}, encrypt(*svc.make_subscription()["keys"].values(), b"{}"), 400),  # for another subscription
        ({}, b"\0" * 5000, 413),
    ]
    for change, data, status in cases:
        headers = {k: v for k, v in {**good, **change}.items() if v is not None}
        assert requests.post(sub["endpoint"], data=data, headers=headers, timeout=5).status_code == status, change
    assert len(svc.rejections) == len(cases) and svc.messages == []
    # A forged signature: the right header with another key's k.
    t = good["Authorization"].split(",")[0]
    forged = f"{t}, k={public_key_b64(ec.generate_private_key(ec.SECP256R1()))}"
    assert requests.post(sub["endpoint"], data=body, headers={**good, "Authorization": forged},
                         timeout=5).status_code == 401


def test_server_bound_to_our_key_accepts_us_and_refuses_another_key(sender, key):
    with PushService(expected_key=public_key_b64(key)) as svc:
        sub = svc.make_subscription()
        assert send(sender, sub).outcome == "ok"
        stranger = make_sender(VapidSigner(ec.generate_private_key(ec.SECP256R1()), SUBJECT))
        try:
            result = send(stranger, sub)
        finally:
            stranger.close()
        assert (result.status, result.outcome) == (403, "config")  # our key: kept, not retried
        assert "applicationServerKey" in svc.rejections[-1].reason


def test_subscription_bound_to_another_key_refuses(sender):
    with PushService() as svc:
        other = public_key_b64(ec.generate_private_key(ec.SECP256R1()))
        sub = svc.make_subscription(application_server_key=other)
        assert send(sender, sub).status == 403


def test_two_services_each_get_their_own_aud(sender):
    with PushService() as a, PushService() as b:
        assert a.origin != b.origin
        assert send(sender, a.make_subscription()).outcome == "ok"
        assert send(sender, b.make_subscription()).outcome == "ok"
        [ma], [mb] = a.wait_for(1), b.wait_for(1)
        assert ma.claims["aud"] == a.origin
        assert mb.claims["aud"] == b.origin
        assert ma.token != mb.token


def test_the_jwt_is_cached_per_audience(sender, signer, svc):
    assert signer.header("https://push.example") == signer.header("https://push.example")
    assert signer.header("https://push.example") != signer.header("https://other.example")
    # The audience is an origin: a path or a default port changes nothing.
    assert signer.header("https://push.example:443/x/y") == signer.header("https://push.example")
    sub = svc.make_subscription()
    send(sender, sub)
    send(sender, sub)
    first, second = svc.wait_for(2)
    assert first.token == second.token


def test_the_jwt_is_reused_until_less_than_an_hour_is_left(signer):
    t0 = 1_800_000_000
    h0 = signer.header("https://push.example", now=t0)
    assert signer.header("https://push.example", now=t0 + 11 * 3600) == h0
    h1 = signer.header("https://push.example", now=t0 + 11 * 3600 + 1)
    assert h1 != h0
    _, _, claims, _ = jwt_parts(h1)
    assert claims["exp"] == t0 + 11 * 3600 + 1 + 12 * 3600


def test_the_jwt_is_es256_and_verifies(key, signer):
    value = signer.header("https://fcm.googleapis.com/fcm/send/abc", now=1_800_000_000)
    assert value.startswith("vapid t=") and value.endswith(", k=" + public_key_b64(key))
    token, head, claims, sig = jwt_parts(value)
    assert head == {"typ": "JWT", "alg": "ES256"}
    assert claims == {"aud": "https://fcm.googleapis.com", "exp": 1_800_000_000 + 43200, "sub": SUBJECT}
    assert len(sig) == 64
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    signing_input = token.rsplit(".", 1)[0].encode()
    key.public_key().verify(der, signing_input, ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("subject", ["mailto:hello@unknot.app", "https://unknot.app/contact"])
def test_valid_subjects(key, subject):
    assert VapidSigner(key, subject).subject == subject


@pytest.mark.parametrize("subject", ["", "hello@unknot.app", "http://unknot.app", "mailto:", "https://", None])
def test_invalid_subjects(key, subject):
    with pytest.raises(ValueError):
        VapidSigner(key, subject)


# -- push-service answers ------------------------------------------------------------

@pytest.mark.parametrize("status", [404, 410])
def test_404_and_410_mean_gone(sender, svc, status):
    sub = svc.make_subscription()
    svc.respond(status, subscription=sub)
    result = send(sender, sub)
    assert (result.status, result.outcome) == (status, "gone")
    assert send(sender, svc.make_subscription()).outcome == "ok"  # others unaffected


def test_an_unknown_subscription_is_gone(sender, svc):
    sub = svc.make_subscription()
    sub["endpoint"] = sub["endpoint"][:-3] + "xyz"
    result = send(sender, sub)
    assert (result.status, result.outcome) == (404, "gone")
    assert "xyz" not in result.error and sub["endpoint"] not in result.error


def test_429_with_retry_after_seconds(sender, svc):
    svc.respond(429, retry_after=120)
    result = send(sender, svc.make_subscription())
    assert (result.status, result.outcome, result.retry_after) == (429, "retry", 120)


def test_503_with_retry_after_http_date(sender, svc):
    svc.respond(503, retry_after=email.utils.formatdate(time.time() + 60, usegmt=True))
    result = send(sender, svc.make_subscription())
    assert (result.status, result.outcome) == (503, "retry")
    assert 55 <= result.retry_after <= 61


def test_500_means_retry_and_passes_once_over(sender, svc):
    sub = svc.make_subscription()
    svc.respond(500, times=1)
    result = send(sender, sub)
    assert (result.status, result.outcome, result.retry_after) == (500, "retry", None)
    assert send(sender, sub).outcome == "ok"


def test_a_redirect_is_dropped_and_never_followed(sender):
    with PushService() as svc, PushService() as target:
        target_sub = target.make_subscription()
        svc.respond(301, location=target_sub["endpoint"])
        result = send(sender, svc.make_subscription())
        assert (result.status, result.outcome) == (301, "drop")
        time.sleep(0.1)
        assert target.hits == 0


def test_a_hanging_service_is_a_retry_within_the_timeout(signer, svc):
    svc.respond("hang", seconds=5)
    sender = make_sender(signer, connect_timeout=1, timeout=0.5)
    try:
        started = time.monotonic()
        result = send(sender, svc.make_subscription())
    finally:
        sender.close()
    assert (result.status, result.outcome) == (None, "retry")
    assert "timeout" in result.error
    assert time.monotonic() - started < 3


def test_a_connection_reset_is_a_retry(sender, svc):
    sub = svc.make_subscription()
    svc.respond("reset", subscription=sub)
    result = send(sender, sub)
    assert (result.status, result.outcome) == (None, "retry")
    assert sub["endpoint"] not in result.error
    assert sub["endpoint"].rsplit("/", 1)[1] not in result.error


def test_nothing_listening_is_a_retry(sender):
    with PushService() as svc:
        sub = svc.make_subscription()
    result = send(sender, sub)
    assert (result.status, result.outcome) == (None, "retry")


def test_proxy_environment_is_ignored(sender, svc, monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert send(sender, svc.make_subscription()).outcome == "ok"


def test_a_broken_subscription_is_dropped_not_raised(sender, svc):
    sub = svc.make_subscription()
    sub["keys"]["p256dh"] = "AAAA"
    result = send(sender, sub)
    assert (result.status, result.outcome) == (None, "drop")
    assert send(sender, {"endpoint": "ftp://x/y", "keys": {}}).outcome == "drop"
    assert svc.hits == 0


def test_only_a_sender_with_processes_freezes_what_its_process_holds(signer, svc):
    """Before it forks, a sender leaves the objects its process holds out of
    the collector's scans (their full collection stalled a pass for up to
    222 ms) and has young objects collected less often; a sender without
    processes (the scheduler embedded in a web process) leaves the web
    process's collector as it is. (conftest's ``unfrozen`` starts each test
    with nothing frozen and the thresholds as they were.)"""
    thresholds = gc.get_threshold()
    sender = make_sender(signer)
    sender.close()
    assert (gc.get_freeze_count(), gc.get_threshold()) == (0, thresholds)
    sender = make_sender(signer, processes=1)
    try:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG, *thresholds[1:])
        assert send(sender, svc.make_subscription()).outcome == "ok"
    finally:
        sender.close()


def test_a_step_stops_encrypting_at_the_deadline(sender, svc, monkeypatch):
    """Messages are encrypted STEP at a time before they are written; once
    ``until`` passes, the rest of the step is neither encrypted nor sent
    (None: not started), not encrypted for nothing."""
    from webapp.push import sender as module

    encrypted, real = [], module._encrypt

    def slow(message):
        encrypted.append(message)
        time.sleep(0.01)
        return real(message)

    monkeypatch.setattr(module, "_encrypt", slow)
    subs = [svc.make_subscription() for _ in range(STEP)]
    messages = [Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], payload(), 600, "normal",
                        topic_for("hydration")) for s in subs]
    results = sender.submit(messages, time.monotonic() + 0.035).result(30)
    assert len(encrypted) < STEP
    assert results[len(encrypted):] == [None] * (STEP - len(encrypted))
    assert all(r.outcome == "ok" for r in results if r is not None)


def test_concurrent_sends_from_a_thread_pool(sender):
    with PushService() as a, PushService() as b:
        subs = [a.make_subscription() for _ in range(3)] + [b.make_subscription() for _ in range(3)]
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: send(sender, subs[i % len(subs)]), range(60)))
        assert {r.outcome for r in results} == {"ok"}
        msgs = a.wait_for(30) + b.wait_for(30)
        assert len({m.token for m in msgs}) == 2  # one signature per audience
        # Keep-alive connections: at most one per message in flight (4) per origin.
        assert 2 <= sender.client.connections <= 2 * 4


# -- argument checks -------------------------------------------------------------------

@pytest.mark.parametrize("ttl", [0, -1, True, 1.5, "60"])
def test_ttl_must_be_a_positive_int(sender, svc, ttl):
    with pytest.raises(ValueError):
        send(sender, svc.make_subscription(), ttl=ttl)
    assert svc.hits == 0


@pytest.mark.parametrize("kw", [{"urgency": "urgent"}, {"topic": "a" * 33}, {"topic": "no spaces"}, {"topic": ""}])
def test_urgency_and_topic_are_checked(sender, svc, kw):
    with pytest.raises(ValueError):
        send(sender, svc.make_subscription(), **kw)


def test_payload_limit_is_what_the_strictest_route_takes(sender, svc):
    """Mozilla relays to Firefox for Android through FCM: about 3 KB, so the
    encrypted body stays within 3072 bytes, not RFC 8030's 4096."""
    base = len(payload(body=""))
    data = payload(body="x" * (MAX_PAYLOAD - base))
    assert len(data) == MAX_PAYLOAD == 2969
    assert send(sender, svc.make_subscription(), data=data).outcome == "ok"
    [msg] = svc.wait_for(1)
    assert msg.plaintext == data
    with pytest.raises(PayloadTooLarge):
        payload(body="x" * (MAX_PAYLOAD - base + 1))
    with pytest.raises(PayloadTooLarge):
        encrypt(*svc.make_subscription()["keys"].values(), b"x" * (MAX_PAYLOAD + 1))


def test_encrypted_body_is_3072_bytes_at_most_and_fresh_each_time(svc):
    keys = svc.make_subscription()["keys"]
    assert len(encrypt(*keys.values(), b"x" * MAX_PAYLOAD)) == 3072
    one, two = encrypt(*keys.values(), b"same"), encrypt(*keys.values(), b"same")
    assert one[:16] != two[:16]  # salt
    assert one[21:86] != two[21:86]  # ephemeral key


def test_payload_is_compact_json():
    data = encode_payload("stretch", "Stretch", "Calves, 30 s", "/routine/bedtime", "unknot-stretch")
    assert data == (b'{"kind":"stretch","title":"Stretch","body":"Calves, 30 s",'
                    b'"url":"/routine/bedtime","tag":"unknot-stretch"}')


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example", "/\\evil.example",
                                 "guide/calf", "", "/a b", "/a\nb", None])
def test_payload_url_must_be_a_same_origin_path(url):
    with pytest.raises(ValueError):
        encode_payload("hydration", "t", "b", url, "tag")


@pytest.mark.parametrize("kind", ["", "a kind", "x" * 17, "/", None])
def test_payload_kind_must_be_a_short_url_safe_name(kind):
    with pytest.raises(ValueError):
        encode_payload(kind, "t", "b", "/", "tag")


def test_topic_for():
    assert topic_for("hydration") == topic_for("hydration")
    assert topic_for("hydration") != topic_for("stretch")
    for t in [topic_for(k) for k in ("hydration", "stretch", "test")]:
        assert 1 <= len(t) <= 32
        assert set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_parse_retry_after():
    assert parse_retry_after("120") == 120
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 30) == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 + 30) == 0
    assert parse_retry_after("99999999999999") == 7 * 24 * 3600


# -- the key ------------------------------------------------------------------------------

def test_key_file_is_created_0600_and_reloaded(tmp_path):
    path = tmp_path / "instance" / "keys" / "vapid.pem"
    key = load_or_create_vapid_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8
    assert public_key_b64(load_or_create_vapid_key(path)) == public_key_b64(key)
    assert [p.name for p in path.parent.iterdir()] == ["vapid.pem"]  # no temp left


def test_a_readable_key_file_is_refused(tmp_path):
    path = tmp_path / "vapid.pem"
    load_or_create_vapid_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(VapidKeyError, match="0644"):
        load_or_create_vapid_key(path)


def test_a_non_key_file_is_refused(tmp_path):
    path = tmp_path / "vapid.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not a key")
    os.close(fd)
    with pytest.raises(VapidKeyError):
        load_or_create_vapid_key(path)


def test_concurrent_creation_yields_one_key(tmp_path):
    path = tmp_path / "vapid.pem"
    barrier = threading.Barrier(8)
    keys = []

    def create():
        barrier.wait()
        keys.append(public_key_b64(load_or_create_vapid_key(path)))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1


def test_public_key_is_a_65_byte_uncompressed_point(key):
    text = public_key_b64(key)
    assert "=" not in text
    raw = unb64(text)
    assert len(raw) == 65 and raw[0] == 0x04
