"""Rate limits shared between processes through Redis, and what happens when
Redis is gone.

The shared-limit test runs gunicorn with two workers on 127.0.0.1 against
the Redis on 127.0.0.1:6379 (database 13, flushed before and after). It is
skipped when no Redis answers there, unless ``UNKNOT_REQUIRE_POSTGRES=1``
(set by .ci/run, whose machine has one), where it fails instead.
"""
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.procs import ROOT, wait_until
from webapp import create_app

REDIS_URL = "redis://127.0.0.1:6379/13"
SUBSCRIBE_PER_MINUTE = 20  # webapp.web.limits.RULES["subscribe"]


@pytest.fixture
def redis_db():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} is not reachable: {exc}"
        if os.environ.get("UNKNOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def dead_port():
    """A loopback port that refuses connections: bound, never listening."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


class Gunicorn:
    """``gunicorn --workers 2 'webapp:create_app()'`` on a port of its own choosing."""

    def __init__(self, tmp_path, env):
        self.access = tmp_path / "access.log"
        self.errors = tmp_path / "error.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", "127.0.0.1:0",
             "--access-logfile", str(self.access), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s",
             "--error-logfile", str(self.errors), "webapp:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        found = wait_until(lambda: self._listening() or self._died(), 60, "gunicorn to listen")
        if self._died():
            raise AssertionError("gunicorn exited:\n" + self.log())
        self.url = found

    def _listening(self):
        text = self.errors.read_text() if self.errors.exists() else ""
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", text)
        return match and match.group(1)

    def _died(self):
        return self.proc.poll() is not None

    def log(self):
        return self.errors.read_text(errors="replace")[-3000:] if self.errors.exists() else ""

    def served_by(self, method, path):
        """pid -> statuses of the requests the access log shows."""
        seen = {}
        for line in self.access.read_text().splitlines() if self.access.exists() else []:
            pid, m, p, status = line.split()
            if (m, p) == (method, path):
                seen.setdefault(pid, []).append(int(status))
        return seen

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def test_two_processes_share_one_limit_through_redis(tmp_path, redis_db):
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "VAPID_PRIVATE_KEY": str(tmp_path / "vapid.pem"),
              "SCHEDULER": "off", "SECRET_KEY": "test-secret-key-for-gunicorn"}
    create_app(dict(config)).extensions["unknot_db"].engine.dispose()  # migrate once, before the workers start
    env = {**os.environ, **{f"UNKNOT_{k}": v for k, v in config.items()},
           "UNKNOT_RATELIMIT_STORAGE_URI": REDIS_URL, "PYTHONUNBUFFERED": "1"}
    server = Gunicorn(tmp_path, env)
    try:
        with ThreadPoolExecutor(4) as pool, requests.Session() as warm:
            # Both workers up and answering (an unlimited call), before the limited burst.
            def both_answer():
                list(pool.map(lambda _: requests.get(f"{server.url}/api/push/public-key", timeout=10), range(8)))
                return len(server.served_by("GET", "/api/push/public-key")) >= 2

            wait_until(both_answer, 90, "both gunicorn workers to answer", interval=0.2)

            def post(_):
                return requests.post(f"{server.url}/api/subscriptions", json={}, timeout=10,
                                     headers={"Connection": "close"}).status_code

            statuses = list(pool.map(post, range(2 * SUBSCRIBE_PER_MINUTE)))
        served = server.served_by("POST", "/api/subscriptions")
    finally:
        server.stop()
    assert len(served) == 2, f"one worker served every request: {served}\n{server.log()}"
    assert statuses.count(400) == SUBSCRIBE_PER_MINUTE, statuses
    assert statuses.count(429) == SUBSCRIBE_PER_MINUTE, statuses
    assert redis_db.dbsize() > 0  # the counts were in Redis


def test_a_dead_redis_fails_open_with_a_warning(make_app, push_service, dead_port, caplog):
    """Redis unreachable: no 500, a logged warning, and each process counts in its own memory."""
    caplog.set_level(logging.WARNING)
    app = make_app(PUSH_ALLOWED_ORIGINS=push_service.origin, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{dead_port}/0")
    client = app.test_client()
    public_key = client.get("/api/push/public-key").json["publicKey"]
    sub = push_service.make_subscription(application_server_key=public_key)
    response = client.post("/api/subscriptions", json={"subscription": sub, "timezone": "UTC"})
    assert response.status_code == 201, response.json
    assert "Rate limit storage unreachable" in caplog.text
    assert "Traceback" not in caplog.text
    headers = {"Authorization": f"Bearer {response.json['token']}"}
    statuses = [client.post("/api/reminders/test", headers=headers).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_the_storage_comes_from_the_config(make_app):
    """No storage in the constructor: the configured one is the one used."""
    app = make_app(RATELIMIT_STORAGE_URI="memory://")
    limiter = app.extensions["unknot_limits"].limiter
    assert type(limiter.storage).__name__ == "MemoryStorage"
    other = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    assert type(other.extensions["unknot_limits"].limiter.storage).__name__ == "RedisStorage"
    assert app.extensions["unknot_limits"].limiter is not other.extensions["unknot_limits"].limiter
