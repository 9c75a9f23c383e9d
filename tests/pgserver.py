"""PostgreSQL for the tests (not a test module).

``server_url()`` gives a reachable server: ``UNKNOT_TEST_POSTGRES_URL``, else
the CI machine's ``postgresql+psycopg://postgres@127.0.0.1:5432/test``, else
a throwaway cluster made with the system's initdb + pg_ctl in a temporary
directory (as the ``postgres`` user when we are root), stopped at exit.
Each test then gets a schema of its own (``fresh_schema``), reached through
``search_path`` in the URL, and dropped afterwards.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def conninfo(url: str) -> str:
    """A libpq connection string for a SQLAlchemy URL (search_path options kept)."""
    u = make_url(url)
    options = u.query.get("options")
    base = u.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return f"{base}?options={options.replace('=', '%3D')}" if options else base


def reachable(url: str, timeout: float = 2.0) -> bool:
    import psycopg

    try:
        with psycopg.connect(conninfo(url), connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return found[0] if found else shutil.which(name)


class Throwaway:
    """initdb + pg_ctl in a temporary directory, listening on 127.0.0.1 only."""

    def __init__(self):
        self.dir = None
        self.port = None
        self.user = None

    def _run(self, *args, **kwargs):
        cmd = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, timeout=120, **kwargs)

    def start(self) -> str:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found")
        self.dir = tempfile.mkdtemp(prefix="unknot-pg-")
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self.user = "postgres"
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        data = os.path.join(self.dir, "data")
        self._run(initdb, "-D", data, "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.port = _free_port()
        self._run(pg_ctl, "-D", data, "-w", "-t", "60", "-l", os.path.join(self.dir, "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                  f"-c max_connections=200", "start")
        atexit.register(self.stop)
        url = f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"
        deadline = time.monotonic() + 30
        while not reachable(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        return url

    def stop(self) -> None:
        if self.dir is None:
            return
        try:
            self._run(_pg_bin("pg_ctl"), "-D", os.path.join(self.dir, "data"), "-m", "immediate", "stop")
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


_server: tuple[str | None, str] | None = None


def server_url() -> tuple[str | None, str]:
    """(URL, how) of a PostgreSQL server for the tests, or (None, why not)."""
    global _server
    if _server is not None:
        return _server
    url = os.environ.get("UNKNOT_TEST_POSTGRES_URL") or DEFAULT_URL
    if reachable(url):
        _server = (url, f"using {make_url(url).render_as_string()}")
        return _server
    try:
        throwaway = Throwaway()
        _server = (throwaway.start(), f"{url} unreachable: started a throwaway server")
    except Exception as exc:  # no binaries, no postgres user, ...
        _server = (None, f"{url} unreachable and no throwaway server: {exc}")
    return _server


def fresh_schema(url: str) -> tuple[str, str]:
    """Create a new, empty schema; return (its name, a URL whose search_path is it)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    u = make_url(url).update_query_dict({"options": f"-csearch_path={name}"})
    return name, u.render_as_string(hide_password=False)


def drop_schema(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
