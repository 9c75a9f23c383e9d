"""Unknot: calm, offline-first help for leg cramps."""
import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import config
from webapp.web.jsonbody import BoundedJSONProvider
from webapp.store.private_files import load_or_create

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None):
    app = Flask(
        __name__,
        instance_relative_config=True,
        static_folder=str(ROOT / "static"),
        static_url_path="/static",
    )
    app.json = BoundedJSONProvider(app)
    app.config.from_mapping(config.defaults())
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("UNKNOT")
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    settings = config.Settings.from_config(app.config)
    if settings.production:
        from webapp.push.channel import check_production

        check_production(settings)
    settings = app.extensions[config.EXTENSION] = settings.in_instance(app.instance_path)

    app.secret_key = _secret_key(app, settings)
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from webapp.jobs import cli, scheduler, senders
    from webapp.push import channel
    from webapp.reminders import kinds
    from webapp.store import db, migrate
    from webapp.web import api, assets, compress, errors, health, limits, pages, security

    kinds.init_app(app)
    db.init_app(app)
    migrate.upgrade(app)
    security.init_app(app)
    compress.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    assets.init_app(app)
    channel.init_app(app)
    senders.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(migrate.bp)
    cli.init_app(app)
    health.init_app(app)
    scheduler.init_app(app)
    return app


def _secret_key(app, settings):
    if settings.secret_key:
        return settings.secret_key
    if settings.production:
        raise RuntimeError(
            "UNKNOT_SECRET_KEY must be set when UNKNOT_PRODUCTION is true, to a long random "
            "string: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    path = os.path.join(app.instance_path, "secret_key")
    return load_or_create(path, lambda: secrets.token_urlsafe(48).encode()).decode()
