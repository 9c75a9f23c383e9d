"""The sender over TLS, against loopback HTTPS push services with a
throwaway CA (tests/tlspushservice.py), and the client's connection rules:
keep-alive reuse, idle connections, refused certificates, an HTTP/2-only
service, a trickling answer, addresses tried in turn, bounded lookups, a
cap on connections per origin, how the pool grows; sender processes."""
import asyncio
import errno
import os
import signal
import socket
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.procs import wait_until
from tests.pushservice import PushService
from tests.tlspushservice import CA
from webapp.jobs import senders as app_senders
from webapp.push.pool import Pool
from webapp.push import sender as sender_module
from webapp.push import shards
from webapp.push.sender import CHUNK, Fanout, Message
from webapp.push.vapid import VapidSigner

SUBJECT = "mailto:test@unknot.example"


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return CA.make(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def signer():
    return VapidSigner(ec.generate_private_key(ec.SECP256R1()), SUBJECT)


@pytest.fixture
def senders(signer, ca):
    made = []

    def make(*services, **kw):
        kw = {"connect_timeout": 2, "timeout": 3, "concurrency": 8, "ca_bundle": ca.bundle,
              "trusted_origins": frozenset(s.origin for s in services), **kw}
        sender = Fanout(signer, **kw)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.close()


def send(sender, sub, **kw):
    kw = {"ttl": 60, "urgency": "normal", "topic": "unknot-test", **kw}
    return sender.send(sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], b'{"kind":"test"}', **kw)


def test_delivered_and_decrypted_over_tls_on_one_kept_alive_connection(ca, senders):
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        assert svc.origin.startswith("https://127.0.0.1:")
        sender = senders(svc)
        subs = [svc.make_subscription() for _ in range(5)]
        results = [send(sender, sub) for sub in subs]
        assert [(r.status, r.outcome) for r in results] == [(201, "ok")] * 5
        messages = svc.wait_for(5)
        assert [m.payload for m in messages] == [{"kind": "test"}] * 5
        assert {m.claims["aud"] for m in messages} == {svc.origin}
        assert svc.accepted == 1  # one TLS handshake, four reuses


def test_many_in_flight_over_tls_stay_within_the_cap_per_origin(ca, senders):
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, concurrency=40, per_origin=3)
        svc.respond("hang", seconds=0.2, times=12)
        subs = [svc.make_subscription() for _ in range(30)]
        results = sender.submit([Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], b"{}", 60,
                                         "normal", "t") for s in subs]).result(30)
        assert {r.outcome for r in results} == {"ok"}
        assert svc.peak <= 3 and svc.accepted <= 3
        assert len(svc.wait_for(30)) == 30


def test_a_connection_the_service_closed_while_idle_is_replaced(ca, senders):
    with PushService(tls=ca.server_context("127.0.0.1"), idle_timeout=0.2) as svc:
        sender = senders(svc)
        sub = svc.make_subscription()
        assert send(sender, sub).outcome == "ok"
        wait_until(lambda: not svc._connections, 5, "the service to close the idle connection")
        assert send(sender, sub).outcome == "ok"
        assert svc.accepted == 2 and len(svc.wait_for(2)) == 2


def test_idle_connections_are_retired_after_their_maximum_age(ca, signer):
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = Fanout(signer, ca_bundle=ca.bundle, trusted_origins={svc.origin})
        sender.client.max_idle = 0.0  # every idle connection is too old to reuse
        try:
            sub = svc.make_subscription()
            assert [send(sender, sub).outcome for _ in range(3)] == ["ok"] * 3
        finally:
            sender.close()
        assert svc.accepted == 3


def test_a_sweep_retires_connections_idle_past_their_maximum_age_and_keeps_the_others(ca, signer):
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = Fanout(signer, ca_bundle=ca.bundle, trusted_origins={svc.origin})
        try:
            sub = svc.make_subscription()
            assert send(sender, sub).outcome == "ok"
            sender.sweep()  # idle for less than max_idle (30 s): kept, and reused
            assert send(sender, sub).outcome == "ok" and svc.accepted == 1
            sender.client.max_idle = 0.0
            sender.sweep()  # after a pass, a quiet origin's connections too
            wait_until(lambda: sender.client.connections == 0, 5, "the idle connection closed")
        finally:
            sender.close()


async def loopback(host, port):
    return [(socket.AF_INET, ("127.0.0.1", port))]


@pytest.mark.parametrize("case, reason", [
    ("wrong host", "Hostname mismatch"),
    ("expired", "certificate has expired"),
    ("unknown CA", "unable to get local issuer certificate"),
])
def test_a_refused_certificate_is_a_configuration_error_without_retries(ca, senders, tmp_path, case, reason):
    if case == "wrong host":  # push.test's address answers with other.test's certificate
        context = ca.server_context("other.test")
    elif case == "expired":
        context = ca.server_context("push.test", not_after=-1)
    else:
        context = CA.make(tmp_path / "other").server_context("push.test")
    with PushService(tls=context, host="push.test") as svc:
        sender = senders(svc, resolver=loopback)
        sub = svc.make_subscription()
        started = time.monotonic()
        results = [send(sender, sub) for _ in range(3)]
        assert time.monotonic() - started < 3
        assert {(r.status, r.outcome) for r in results} == {(None, "config")}
        assert reason in results[0].error and "certificate" in results[0].error
        assert sub["endpoint"] not in results[0].error
        assert svc.accepted == 3  # one handshake per message, never a loop
        assert svc.hits == 0


def test_the_ca_bundle_is_what_decides(ca, senders):
    """Without the test CA in the bundle (certifi's default), the same service is refused."""
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        result = send(senders(svc, ca_bundle=None), svc.make_subscription())
        assert result.outcome == "config" and "unable to get local issuer" in result.error


def test_the_apps_ca_bundle_setting_is_what_its_sender_trusts(make_app, ca):
    """UNKNOT_PUSH_CA_BUNDLE carries from the app's settings to the sender a
    pass uses: with the test CA's bundle the service is trusted; without it
    (certifi's), refused."""
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sub = svc.make_subscription()
        for bundle, outcome in ((str(ca.bundle), "ok"), (None, "config")):
            app = make_app(PUSH_ALLOWED_ORIGINS=svc.origin, PUSH_CA_BUNDLE=bundle)
            assert send(app_senders.sender(app), sub).outcome == outcome


class HTTP2Only:
    """A TLS server that offers only h2 (ALPN) and greets with an HTTP/2
    SETTINGS frame, as an HTTP/2-only server does."""

    def __init__(self, context):
        self.context = context
        self.accepted = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.origin = f"https://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.settimeout(2)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # SETTINGS, empty
                    tls.recv(65536)
            except OSError:
                conn.close()

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


def test_an_http2_only_service_is_a_clear_configuration_error_not_a_retry_loop(ca, senders, caplog):
    server = HTTP2Only(ca.server_context("127.0.0.1", alpn=("h2",)))
    try:
        sender = senders(server)
        keys = PushService().make_subscription()["keys"]
        results = [sender.send(f"{server.origin}/push/x", keys["p256dh"], keys["auth"], b"{}", ttl=60,
                               urgency="normal", topic="t") for _ in range(2)]
    finally:
        server.stop()
    assert {(r.status, r.outcome) for r in results} == {(None, "config")}
    assert "HTTP/2" in results[0].error
    assert server.accepted == 2
    logged = [r for r in caplog.records if r.levelname == "ERROR" and "HTTP/2" in r.getMessage()]
    assert len(logged) == 1  # once per origin


def test_a_trickling_answer_hits_the_total_deadline(ca, senders):
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, timeout=1.0)
        svc.respond("trickle", seconds=6)
        started = time.monotonic()
        result = send(sender, svc.make_subscription())
        took = time.monotonic() - started
        assert (result.status, result.outcome) == (None, "retry")
        assert "timeout" in result.error
        assert 0.9 <= took < 2.0, took


@pytest.mark.parametrize("first, ipv6", [((socket.AF_INET, "127.0.0.2"), True), ((socket.AF_INET6, "::1"), True),
                                         ((socket.AF_INET6, "::1"), False)], ids=["IPv4", "IPv6", "IPv6 off"])
def test_a_name_whose_first_address_is_unreachable_falls_through_to_the_next(ca, senders, first, ipv6, monkeypatch):
    tried = []
    if not ipv6:  # a host whose kernel has IPv6 turned off cannot even make the socket
        made = socket.socket

        def make(family=socket.AF_INET, *args, **kwargs):
            if family == socket.AF_INET6:
                raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
            return made(family, *args, **kwargs)

        monkeypatch.setattr(socket, "socket", make)

    async def resolver(host, port):
        assert host == "push.test"
        tried.append(host)
        # Nothing listens on 127.0.0.2 or ::1 (connection refused), or, IPv6
        # off, no socket can be made for ::1; the service is on 127.0.0.1,
        # after the IPv6 address as getaddrinfo orders them.
        family, address = first
        return [(family, (address, port)), (socket.AF_INET, ("127.0.0.1", port))]

    with PushService(tls=ca.server_context("push.test"), host="push.test") as svc:
        sender = senders(svc, resolver=resolver)
        result = send(sender, svc.make_subscription())
        assert (result.status, result.outcome) == (201, "ok"), result
        [message] = svc.wait_for(1)
        assert message.claims["aud"] == svc.origin == f"https://push.test:{svc.port}"
        assert tried == ["push.test"]


def test_every_address_is_checked_by_netguard_before_connecting(ca, senders):
    async def resolver(host, port):
        return [(socket.AF_INET, ("10.1.2.3", port)), (socket.AF_INET, ("127.0.0.1", port))]

    with PushService(tls=ca.server_context("push.test"), host="push.test") as svc:
        sender = senders(svc, resolver=resolver, trusted_origins=frozenset())
        result = send(sender, svc.make_subscription())
        assert (result.status, result.outcome) == (None, "drop")
        assert "not a public address" in result.error
        assert svc.accepted == 0


def test_a_slow_name_lookup_is_bounded(ca, senders):
    async def resolver(host, port):
        await asyncio.sleep(30)

    with PushService(tls=ca.server_context("push.test"), host="push.test") as svc:
        sender = senders(svc, resolver=resolver, connect_timeout=0.3)
        started = time.monotonic()
        result = send(sender, svc.make_subscription())
        assert time.monotonic() - started < 1.5
        assert result.outcome == "retry" and "name lookup" in result.error



def test_a_burst_reuses_connections_instead_of_a_handshake_each(ca, senders):
    """At no distance, a few connections carry a burst: a TLS handshake costs
    more CPU than the message it would carry."""
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, concurrency=1024, per_origin=512)
        subs = [svc.make_subscription() for _ in range(10)]
        messages = [Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], b"{}", 60, "normal", "t")
                    for s in subs] * 40
        results = sender.submit(messages).result(60)
        assert {r.outcome for r in results} == {"ok"}
        # 400 messages: a handful of handshakes when the machine is idle (<= 40), and still
        # far fewer than one each when it is loaded, its answers slow and the pool grows.
        assert svc.accepted <= 100, svc.accepted


def test_requests_waiting_for_a_connection_go_in_the_order_they_came(ca, senders):
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, per_origin=1)
        subs = [svc.make_subscription() for _ in range(8)]
        messages = [Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], b"{}", 60, "normal", "t")
                    for s in subs]
        assert {r.outcome for r in sender.submit(messages).result(30)} == {"ok"}
        assert svc.arrived == [s["endpoint"].removeprefix(svc.origin) for s in subs]


def test_a_signer_that_fails_makes_a_retry_not_a_hang(ca, caplog):
    class Broken:
        def header(self, origin):
            raise RuntimeError("no key")

    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = Fanout(Broken(), timeout=3, ca_bundle=ca.bundle, trusted_origins=frozenset([svc.origin]))
        try:
            subs = [svc.make_subscription() for _ in range(3)]
            results = sender.submit([Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], b"{}", 60,
                                             "normal", "t") for s in subs]).result(10)
        finally:
            sender.close()
        assert [(r.outcome, r.error) for r in results] == [("retry", f"RuntimeError ({svc.origin})")] * 3
        assert svc.hits == 0 and "no key" in caplog.text


def test_the_pool_opens_a_connection_for_each_waiting_request_only_when_the_service_is_far():
    def windows(pool, *rtts):
        for rtt in rtts:  # one answer per window of a second
            pool.window_start -= 1.0
            pool.note(rtt)
        return pool.allowed(512)

    far, busy, near = Pool(), Pool(), Pool()
    for took in (0.002, 0.003):  # the handshakes took 2 and 3 ms
        far.opened(took)
        near.opened(took)
    for took in (0.002, 0.02):  # 20 ms: a handshake waited its turn at the service
        busy.opened(took)
    # Answers in 50 ms when even the slowest handshake took 3: a new connection is ready sooner.
    assert windows(far, 0.05) == 512
    assert windows(far, 0.001) < 16
    # Answers in 50 ms after a handshake of 20: one slow window may be our burst queued at
    # the service, two are not.
    assert windows(busy, 0.05) < 16
    assert windows(busy, 0.05) == 512
    assert windows(near, 0.0005, 0.0005) < 16  # answers in 0.5 ms: better wait for one than shake hands


def test_a_service_silent_long_after_its_first_request_counts_as_far_before_any_answer():
    quiet, answered, failed, slow = Pool(), Pool(), Pool(), Pool()
    for pool in (quiet, answered, failed):
        pool.opened(0.003)  # the first connection took 3 ms; its request went then
        pool.first_open -= 0.05  # 50 ms ago: AT_ONCE times the handshake and more
    slow.opened(1.0)  # a handshake of a second: 5 s of silence would be needed
    answered.note(0.05)  # one answer came (in 50 ms): the windows decide from now on
    answered.ended()
    failed.ended()  # one request failed: a service that only fails is not far
    assert quiet.silent() and quiet.allowed(512) == 512
    assert not quiet.silent()  # it said so once
    for pool in (answered, failed, slow, Pool()):  # Pool(): no connection has opened yet
        assert not pool.silent() and pool.allowed(512) < 16


def test_sender_processes_deliver_over_tls_and_a_killed_one_gives_its_messages_back(ca, senders):
    """With processes, forked sender processes encrypt and send, each with its
    own connections; one killed mid-send gives its messages back as "retry"
    (never lost), and the next messages go through a new one."""
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, processes=2)
        subs = [svc.make_subscription() for _ in range(40)]
        messages = [Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], b'{"kind":"test"}', 60,
                            "normal", "t") for s in subs]
        assert {r.outcome for r in sender.submit(messages).result(30)} == {"ok"}
        delivered = svc.wait_for(40)  # decrypted and checked by the service
        assert len({m.path for m in delivered}) == 40 and {m.payload["kind"] for m in delivered} == {"test"}
        svc.respond("hang", seconds=5)
        held = sender.submit(messages[:4])
        wait_until(lambda: len(svc.arrived) == 44, 10, "the service to hold four requests")
        pids = [shard.process.pid for shard in sender._shards]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        assert [(r.outcome, r.error) for r in held.result(10)] == [("retry", "sender process died")] * 4
        svc.respond(None)
        assert send(sender, subs[0]).outcome == "ok"
        assert {shard.process.pid for shard in sender._shards} - set(pids)  # a new one in a dead one's place


def test_a_sender_process_that_cannot_be_replaced_takes_no_room_for_good(ca, senders, monkeypatch):
    """A failed fork (out of memory) in place of a dead sender process fails
    that submit and gives its room back: more failures than there is room
    (QUEUED chunks a process) leave the sender working once forks work again."""
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, processes=2)
        sub = svc.make_subscription()
        assert send(sender, sub).outcome == "ok"
        dead = sender._shards[0].process
        os.kill(dead.pid, signal.SIGKILL)
        wait_until(lambda: not sender._shards[0].alive, 10, "the parent to see its sender process die")
        real = shards.Shard

        def no_memory(*args, **kw):
            raise OSError(errno.ENOMEM, "Cannot allocate memory")

        message = Message(sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], b"{}", 60, "normal", "t")
        monkeypatch.setattr(shards, "Shard", no_memory)
        for _ in range(2 * sender_module.QUEUED + 1):
            with pytest.raises(OSError):
                sender.submit([message]).result(30)
        monkeypatch.setattr(shards, "Shard", real)
        assert [r.outcome for r in sender.submit([message]).result(30)] == ["ok"]
        assert sender._shards[0].process.pid != dead.pid


def test_the_first_chunks_are_shared_between_the_sender_processes(ca, senders, monkeypatch):
    """Chunks handed out while the sockets to new sender processes are still
    being opened count against their process at once: the first pass's
    chunks are shared, not all given to the first process (which left the
    other core idle: bench/README.md)."""
    handed = []
    real = shards.Shard.send

    async def noting(shard, messages, until, **kw):
        handed.append(shard)
        return await real(shard, messages, until, **kw)

    monkeypatch.setattr(shards.Shard, "send", noting)
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, processes=2)
        subs = [svc.make_subscription() for _ in range(4 * CHUNK)]
        messages = [Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], b"{}", 60, "normal", "t")
                    for s in subs]
        assert {r.outcome for r in sender.submit(messages).result(30)} == {"ok"}
        assert sorted(handed.count(shard) for shard in sender._shards) == [2, 2]


def test_a_chunk_goes_to_the_sender_process_ready_for_it(ca, senders, monkeypatch, tmp_path):
    """A sender process is handed at most QUEUED chunks it has not yet
    encrypted; the others wait for the first process with room. One process
    held up (here: the first to encrypt a message waits for the test's word)
    keeps its QUEUED chunks, and the other sends every other one, where
    chunks shared out in advance left half of them waiting for the slow one
    (bench/README.md)."""
    slow, go = tmp_path / "slow", tmp_path / "go"
    real = sender_module._encrypt

    def encrypt(message):  # runs in the sender processes
        try:
            os.close(os.open(slow, os.O_CREAT | os.O_EXCL))  # the first to get here is the slow one
            for _ in range(1000):  # bounded: 10 s
                if go.exists():
                    break
                time.sleep(0.01)
        except FileExistsError:
            pass
        return real(message)

    handed = []
    real_send = shards.Shard.send

    async def noting(shard, messages, until, **kw):
        handed.append(shard.process.pid)
        return await real_send(shard, messages, until, **kw)

    monkeypatch.setattr(sender_module, "_encrypt", encrypt)
    monkeypatch.setattr(shards.Shard, "send", noting)
    chunks = 4 * sender_module.QUEUED
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, processes=2, concurrency=64)
        subs = [svc.make_subscription() for _ in range(chunks * CHUNK)]
        messages = [Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], b"{}", 60, "normal", "t")
                    for s in subs]
        future = sender.submit(messages)
        fast = (chunks - sender_module.QUEUED) * CHUNK
        wait_until(lambda: len(svc.arrived) >= fast, 30, f"{fast} messages from the process not held up")
        go.touch()
        assert {r.outcome for r in future.result(30)} == {"ok"}
        assert sorted(handed.count(shard.process.pid) for shard in sender._shards) == [
            sender_module.QUEUED, chunks - sender_module.QUEUED]


def test_requests_waiting_for_a_connection_keep_their_deadline_and_the_pool_stays_sound(ca, senders):
    with PushService(tls=ca.server_context("127.0.0.1")) as svc:
        sender = senders(svc, per_origin=1, timeout=0.5)
        subs = [svc.make_subscription() for _ in range(3)]
        svc.respond("hang", seconds=3, subscription=subs[0])  # holds the only connection
        started = time.monotonic()
        results = sender.submit([Message(s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"], b"{}", 60,
                                         "normal", "t") for s in subs]).result(10)
        assert time.monotonic() - started < 2
        assert (results[0].outcome, "timeout" in results[0].error) == ("retry", True)
        assert all(r.outcome in ("ok", "retry") for r in results[1:])
        svc.respond(None, subscription=subs[0])
        assert [send(sender, s).outcome for s in subs] == ["ok"] * 3  # room again after the timeouts
        assert sender.client.connections == 1
