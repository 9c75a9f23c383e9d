"""UNKNOT_PRODUCTION=true refuses to start without one shared VAPID key and
a real VAPID subject, saying which variable is wrong."""
import pytest

from webapp import create_app
from webapp.config import settings
from webapp.push.vapid import load_or_create_vapid_key


@pytest.fixture
def production(tmp_path):
    key = tmp_path / "vapid.pem"
    load_or_create_vapid_key(key)
    return {"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite", "VAPID_PRIVATE_KEY": str(key),
            "VAPID_SUBJECT": "mailto:ops@unknot.app", "SECRET_KEY": "s" * 48, "SCHEDULER": "off",
            "PRODUCTION": True}


@pytest.mark.parametrize("subject", ["mailto:ops@unknot.app", "https://unknot.app/contact",
                                     "mailto:Care.Team@mail.example.org"])
def test_production_starts_with_a_shared_key_and_a_real_subject(production, subject):
    app = create_app({**production, "VAPID_SUBJECT": subject})
    assert settings(app).vapid_subject == subject


def test_production_refuses_to_start_without_the_key_path(production):
    with pytest.raises(RuntimeError, match="UNKNOT_VAPID_PRIVATE_KEY must be set"):
        create_app({**production, "VAPID_PRIVATE_KEY": None})


def test_production_never_makes_a_key_of_its_own(production, tmp_path):
    missing = tmp_path / "elsewhere.pem"
    with pytest.raises(RuntimeError, match="UNKNOT_VAPID_PRIVATE_KEY names .* which does not exist"):
        create_app({**production, "VAPID_PRIVATE_KEY": str(missing)})
    assert not missing.exists()


@pytest.mark.parametrize("subject, why", [
    (None, "is not set"),
    ("", "is not set"),
    ("mailto:hello@unknot.app", "default"),
    ("mailto:ops@localhost", "localhost"),
    ("https://localhost/contact", "localhost"),
    ("mailto:ops@unknot.test", "unknot.test"),
    ("mailto:<ops@unknot.app>", "angle brackets"),
    ("mailto: ops@unknot.app", "spaces"),
    ("mailto:ops@unknot.app ", "spaces"),
    ("mailto:", "not a valid mailto"),
    ("mailto:ops", "not a valid mailto"),
    ("mailto:ops@unknot", "not a valid mailto"),
    ("https://", "not a valid https"),
    ("https://user@unknot.app/", "not a valid https"),
    ("http://unknot.app/contact", "mailto: address or an https: URL"),
    ("ops@unknot.app", "mailto: address or an https: URL"),
])
def test_production_refuses_each_bad_subject(production, subject, why):
    with pytest.raises(RuntimeError, match="UNKNOT_VAPID_SUBJECT") as info:
        create_app({**production, "VAPID_SUBJECT": subject})
    assert why in str(info.value)


def test_outside_production_the_key_is_made_and_the_default_subject_serves(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite", "SCHEDULER": "off",
                      "VAPID_PRIVATE_KEY": str(tmp_path / "made.pem")})
    assert (tmp_path / "made.pem").exists() and settings(app).vapid_subject == "mailto:hello@unknot.app"
