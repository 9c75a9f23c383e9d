"""The factory, configuration and the pages as HTML."""
import dataclasses
import gzip
import json
import subprocess
import sys
import textwrap

import pytest

from webapp import ROOT, create_app
from webapp.config import SettingError, Settings, settings
from webapp.content import MUSCLES, load

PAGES = ["/", *(f"/guide/{m}" for m in MUSCLES), "/routine/bedtime", "/prevent", "/seek-care",
         "/about", "/cramps", "/reminders", "/diary"]


def test_testing_config_is_used(app):
    assert app.testing
    assert settings(app).scheduler is False


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("UNKNOT_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv("UNKNOT_VAPID_PRIVATE_KEY", str(tmp_path / "env.pem"))
    monkeypatch.setenv("UNKNOT_VAPID_SUBJECT", "https://unknot.example/contact")
    monkeypatch.setenv("UNKNOT_SCHEDULER", "off")
    monkeypatch.setenv("UNKNOT_TICK_SECONDS", "7")
    monkeypatch.setenv("UNKNOT_SECRET_KEY", "s" * 40)
    app = create_app()
    s = settings(app)
    assert s.database_url.endswith("env.sqlite")
    assert s.vapid_subject == "https://unknot.example/contact"
    assert s.tick_seconds == 7.0 and s.scheduler is False
    assert (tmp_path / "env.sqlite").exists() and (tmp_path / "env.pem").exists()
    assert "unknot_scheduler" not in app.extensions


@pytest.mark.parametrize("name, value, why", [
    ("UNKNOT_PUSH_TIMEOUT", "soon", "must be a number"),
    ("UNKNOT_PUSH_TIMEOUT", "0", "above 0"),
    ("UNKNOT_DISPATCH_LEASE_SECONDS", "inf", "must be a number"),
    ("UNKNOT_SEND_CONCURRENCY", "0", "at least 1"),
    ("UNKNOT_DISPATCH_BATCH", "2.5", "whole number"),
    ("UNKNOT_SCHEDULER", "maybe", "on or off"),
    ("UNKNOT_TRUSTED_PROXIES", "-1", "at least 0"),
    ("UNKNOT_PUSH_CA_BUNDLE", "/nowhere/ca.pem", "not a file"),
])
def test_a_bad_setting_stops_the_app_naming_its_variable(monkeypatch, tmp_path, name, value, why):
    monkeypatch.setenv("UNKNOT_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError, match=name) as info:
        create_app()
    assert why in str(info.value)
    assert not (tmp_path / "env.sqlite").exists()  # refused before anything was made


def test_every_setting_has_a_default_and_a_meaning_and_a_row_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for f in dataclasses.fields(Settings):
        assert f.metadata["meaning"] and f.metadata["parse"](f.default) == f.default
        assert f"| `UNKNOT_{f.name.upper()}` |" in readme, f.name


def test_the_embedded_default_runs_without_the_postgresql_driver(tmp_path):
    """The README's first command installs no psycopg (it is the postgres
    extra): every module must import without it, and the delivery log,
    which goes to PostgreSQL by psycopg's COPY, must still be written."""
    code = textwrap.dedent("""
        import sys
        sys.modules["psycopg"] = None  # any import of it fails, as without the extra
        import importlib, os, pkgutil
        from datetime import datetime, timezone
        import webapp
        for module in pkgutil.walk_packages(webapp.__path__, "webapp."):
            if ".migrations." not in module.name:  # Alembic's scripts run only under Alembic
                importlib.import_module(module.name)
        from sqlalchemy import select
        from webapp import create_app
        from webapp.jobs import bulk
        from webapp.store.db import database
        from webapp.store.models import Delivery
        tmp = sys.argv[1]
        app = create_app({"TESTING": True, "SCHEDULER": "off", "DATABASE_URL": f"sqlite:///{tmp}/u.db",
                          "VAPID_PRIVATE_KEY": os.path.join(tmp, "v.pem"), "SECRET_KEY": "x"})
        now = datetime.now(timezone.utc)
        with app.app_context(), database(app).begin() as session:
            bulk.log_deliveries(session, [{"subscription_id": "s", "kind": "hydration", "service": "https://p.example",
                                           "due_at": now, "occurrence": 0, "sent_at": now, "status": 201,
                                           "outcome": "ok", "latency_ms": 0, "error": None}])
        with app.app_context(), database(app).begin() as session:
            print(session.scalars(select(Delivery.outcome)).all())
    """)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['ok']"


def test_migrations_run_on_start_and_by_command(app, runner):
    from sqlalchemy import inspect

    from webapp.store.db import db

    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"subscriptions", "due_reminders", "water_log", "deliveries", "alembic_version"} <= tables
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "head" in result.output
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # claims are HOT updates (migration 0005)
            with db.engine.connect() as connection:
                options = connection.exec_driver_sql(
                    "SELECT reloptions FROM pg_class WHERE oid = 'due_reminders'::regclass").scalar()
            assert options == ["fillfactor=70"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_complete_html_with_the_disclaimer(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.startswith("<!doctype html>")
    assert '<html lang="en"' in html
    assert "<main" in html and "<h1" in html and "<nav" in html and "<footer" in html
    assert "Not medical advice." in html
    assert 'rel="manifest"' in html and "apple-touch-icon" in html


def test_unknown_muscle_is_a_helpful_404(client):
    response = client.get("/guide/elbow")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    for muscle in MUSCLES:
        assert f'href="/guide/{muscle}"' in html
    assert client.get("/nowhere").status_code == 404


def test_guide_shows_every_step_with_its_hold(client):
    for muscle in MUSCLES:
        html = client.get(f"/guide/{muscle}").get_data(as_text=True)
        for step in load("guides")[muscle]["steps"]:
            assert step["text"].replace("'", "&#39;") in html
            if step["hold"]:
                assert f'data-hold="{step["hold"]}"' in html


def test_manifest_is_installable(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    data = manifest.json
    for key in ("id", "name", "short_name", "start_url", "scope", "display", "theme_color",
                "background_color", "description", "categories", "icons", "shortcuts"):
        assert data[key], key
    sizes = {(i["sizes"], i["purpose"]) for i in data["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_service_worker_version_and_precache(client):
    response = client.get("/sw.js")
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    assert "__UNKNOT_VERSION__" not in body and "__UNKNOT_PRECACHE__" not in body
    precache = json.loads(body.split("const PRECACHE = ", 1)[1].split(";\n", 1)[0])
    for page in PAGES:
        assert page in precache
    for url in precache:
        assert client.get(url).status_code == 200, url
    assert not [u for u in precache if u.startswith("/api/")]


def test_static_files_are_immutable_only_when_hashed(client):
    body = client.get("/").get_data(as_text=True)
    css = body.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    assert "?v=" in css
    assert "immutable" in client.get(css).headers["Cache-Control"]
    assert client.get("/static/css/app.css").headers["Cache-Control"] == "no-cache"
    assert client.get("/static/css/app.css?v=stale").headers["Cache-Control"] == "no-cache"


def test_text_is_gzipped_for_browsers_that_accept_it(client):
    response = client.get("/guide/calf", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert b"<!doctype html>" in gzip.decompress(response.get_data())
    assert "Content-Encoding" not in client.get("/guide/calf").headers
