"""Fixtures in the style of Flask's tutorial: ``app``, ``client``, ``runner``.

Every test that makes an app runs twice, on SQLite and on PostgreSQL (the
``storage`` fixture; browser tests run on SQLite only). Each PostgreSQL run
gets a fresh schema, dropped afterwards. PostgreSQL runs are skipped when no
server can be reached or started, unless ``UNKNOT_REQUIRE_POSTGRES=1`` (set
by .ci/run), where they fail instead.
"""
import gc
import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import pytest

from tests import pgserver
from webapp import create_app

BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc):
    if "storage" in metafunc.fixturenames and not any(
        m.name == "parametrize" and "storage" in str(m.args[0]) for m in metafunc.definition.iter_markers()
    ):
        if "/tests/browser/" in str(metafunc.definition.fspath).replace(os.sep, "/"):
            return  # browser tests: SQLite only (the storage fixture's default), names unchanged
        metafunc.parametrize("storage", list(BACKENDS), indirect=True)


@pytest.fixture(autouse=True)
def unfrozen():
    """Each test starts with nothing frozen out of the garbage collector and
    its thresholds as they were: a sender with processes freezes its
    process's heap before it forks and collects young objects less often
    (webapp.push.sender), which would otherwise last for the rest of the run."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@dataclass
class Storage:
    backend: str  # "sqlite" | "postgresql"
    url: str
    schema: str | None = None


@pytest.fixture(scope="session")
def postgres_url():
    """A reachable PostgreSQL server's URL (see tests/pgserver.py)."""
    url, how = pgserver.server_url()
    if url is None:
        if os.environ.get("UNKNOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required: {how}")
        pytest.skip(f"PostgreSQL tests skipped: {how}")
    return url


@pytest.fixture
def storage(request, tmp_path):
    """Where this test's app keeps its data: a SQLite file, or a fresh
    PostgreSQL schema (dropped at teardown)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield Storage("sqlite", f"sqlite:///{tmp_path / 'test.sqlite'}")
        return
    base = request.getfixturevalue("postgres_url")
    schema, url = pgserver.fresh_schema(base)
    try:
        yield Storage("postgresql", url, schema)
    finally:
        pgserver.drop_schema(base, schema)


class FakeClock:
    """A settable clock for ``app.config["CLOCK"]``."""

    def __init__(self, start=datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)):
        self.moment = start

    def __call__(self):
        return self.moment

    def set(self, moment):
        self.moment = moment

    def advance(self, delta):
        self.moment += delta


def reconfigure(app, **changes):
    """Change a running test app's settings (webapp.config.Settings field names)."""
    from webapp.config import EXTENSION

    app.extensions[EXTENSION] = replace(app.extensions[EXTENSION], **changes)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_app(tmp_path, clock, storage):
    made = []

    def make(**overrides):
        config = {
            "TESTING": True,
            "DATABASE_URL": storage.url,
            "VAPID_PRIVATE_KEY": str(tmp_path / "vapid.pem"),
            "VAPID_SUBJECT": "mailto:test@unknot.app",
            "SCHEDULER": "off",
            "CLOCK": clock,
        }
        config.update(overrides)
        app = create_app(config)
        made.append((app, app.extensions["unknot_db"].engine))
        return app

    yield make
    from webapp.jobs import senders

    for app, engine in made:  # no threads, sockets or database connections outlive the test
        senders.close(app)
        engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def push_service():
    from tests.pushservice import PushService

    with PushService() as service:
        yield service


@pytest.fixture
def push_app(make_app, push_service):
    """An app allowed to send to the loopback push service."""
    return make_app(PUSH_ALLOWED_ORIGINS=push_service.origin)


@pytest.fixture
def subscribe(push_app, push_service):
    """Subscribe a new browser; returns (subscription JSON, token, client)."""
    client = push_app.test_client()
    public_key = client.get("/api/push/public-key").json["publicKey"]

    def make(timezone="Europe/Berlin"):
        sub = push_service.make_subscription(application_server_key=public_key)
        response = client.post("/api/subscriptions", json={"subscription": sub, "timezone": timezone})
        assert response.status_code == 201, response.json
        return sub, response.json["token"]

    make.client = client
    return make
