"""Fixtures in the style of Flask's tutorial: ``app``, ``client``, ``runner``."""
from datetime import datetime, timezone

import pytest

from webapp import create_app


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


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_app(tmp_path, clock):
    def make(**overrides):
        config = {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'test.sqlite'}",
            "VAPID_PRIVATE_KEY": str(tmp_path / "vapid.pem"),
            "VAPID_SUBJECT": "mailto:test@unknot.app",
            "SCHEDULER": "off",
            "CLOCK": clock,
        }
        config.update(overrides)
        return create_app(config)

    return make


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
