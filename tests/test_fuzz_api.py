"""Schemathesis against our own OpenAPI document: bounded in examples and
time, it must find no 5xx and no answer that breaks the document."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tests.pushservice import PushService


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    from webapp import create_app

    path = tmp_path_factory.mktemp("fuzz")
    service = PushService().start()
    app = create_app({
        "TESTING": True, "SCHEDULER": "off", "RATELIMIT_ENABLED": False,
        "DATABASE_URL": f"sqlite:///{path / 'fuzz.sqlite'}", "VAPID_PRIVATE_KEY": str(path / "vapid.pem"),
        "PUSH_ALLOWED_ORIGINS": service.origin,
    })
    client = app.test_client()
    sub = service.make_subscription()
    TOKEN["value"] = client.post("/api/subscriptions", json={"subscription": sub, "timezone": "UTC"}).json["token"]
    yield app
    service.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")
TOKEN = {}


@schemathesis.auth()
class BearerToken:
    """A real device's token, so the calls behind authentication get fuzzed too."""

    def get(self, case, context):
        return TOKEN["value"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case):
    # A document cannot say which push services or time zones we accept, so
    # schema-valid data may still be refused (400): every other check runs.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
