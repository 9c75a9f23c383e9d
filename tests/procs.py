"""Real ``flask --app webapp reminders worker`` processes for the tests (not
a test module). Every one started is killed at teardown."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Workers:
    """Starts worker processes against one database and push service."""

    def __init__(self, tmp_path, database_url, vapid_key, push_origin):
        self.tmp_path = tmp_path
        self.base_env = {
            **os.environ,
            "UNKNOT_DATABASE_URL": database_url,
            "UNKNOT_VAPID_PRIVATE_KEY": str(vapid_key),
            "UNKNOT_VAPID_SUBJECT": "mailto:test@unknot.app",
            "UNKNOT_PUSH_ALLOWED_ORIGINS": push_origin,
            "UNKNOT_SECRET_KEY": "test-secret-key-for-worker-processes",
            "UNKNOT_TICK_SECONDS": "0.2",
            "UNKNOT_DISPATCH_LEASE_SECONDS": "3",
            "UNKNOT_PUSH_CONNECT_TIMEOUT": "1",
            "UNKNOT_PUSH_TIMEOUT": "1",
            "UNKNOT_SEND_CONCURRENCY": "4",
            "UNKNOT_DISPATCH_BATCH": "10",
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: list[subprocess.Popen] = []

    def start(self, **settings) -> subprocess.Popen:
        env = dict(self.base_env)
        env.update({f"UNKNOT_{k}": str(v) for k, v in settings.items()})
        log = open(self.tmp_path / f"worker-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "webapp", "reminders", "worker"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc, sig=signal.SIGKILL) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, sig)
        proc.wait(10)

    def logs(self) -> str:
        return "\n".join(
            f"--- worker {i} ---\n" + (self.tmp_path / f"worker-{i}.log").read_text(errors="replace")[-3000:]
            for i in range(len(self.procs))
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass


def wait_until(predicate, timeout, message="condition", interval=0.05):
    """Poll ``predicate`` (bounded); its last value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)
