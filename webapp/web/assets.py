"""Static assets by content hash, the service worker and the web app manifest.

There is no build step: the server hashes the files once at start, links
them as ``/static/<path>?v=<hash>`` (cached for a year) and injects into the
worker its version, the precache list, the app's reminder kinds and the
page's key-value store (static/js/kv.js), so a change to any of them ships
a new worker.
"""
import hashlib
import json
import re
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, url_for

from webapp import ROOT, content
from webapp.reminders.kinds import registry

bp = Blueprint("assets", __name__)
STATIC = ROOT / "static"
SW_SOURCE = ROOT / "service_worker" / "sw.js"
KV_SOURCE = STATIC / "js" / "kv.js"
TEMPLATES = ROOT / "webapp" / "templates"
# Served and precached; the icon generator and the SVG sources stay out.
PRECACHED_SUFFIXES = {".css", ".js", ".png", ".svg", ".json"}
PRECACHE_SKIP = {"icons/badge.svg", "icons/icon-512.png", "icons/icon-maskable-512.png"}

NOT_FOUND = "/offline/not-found"
THEME_DARK = "#14202a"


def _digest(paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(p.relative_to(ROOT).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@cache
def static_hashes():
    return {
        p.relative_to(STATIC).as_posix(): _digest([p])[:10]
        for p in sorted(STATIC.rglob("*"))
        if p.is_file() and p.suffix in PRECACHED_SUFFIXES
    }


def asset_url(path):
    return url_for("static", filename=path, v=static_hashes()[path])


@cache
def version(kinds):
    """One hash over everything a page or the worker is made of, with the
    app's reminder kinds (their JSON): a test app's own kinds make its own."""
    sources = [SW_SOURCE, *content.files(), *sorted(TEMPLATES.rglob("*.html"))]
    sources += sorted((ROOT / "webapp").rglob("*.py"))
    sources += [STATIC / p for p in static_hashes()]
    return hashlib.sha256(f"{_digest(sources)}\n{kinds}".encode()).hexdigest()[:16]


@cache
def classic_kv():
    """kv.js (an ES module without imports) as a classic-script expression
    whose value holds its exports: the worker's ``kv``, the pages' code."""
    source = KV_SOURCE.read_text(encoding="utf-8")
    names = re.findall(r"^export (?:const|function|async function) (\w+)", source, re.M)
    if re.search(r"^\s*import\b", source, re.M) or len(names) != len(re.findall(r"^export ", source, re.M)):
        raise ValueError(f"{KV_SOURCE.name}: only plain named exports can be inlined into the worker")
    body = re.sub(r"^export ", "", source, flags=re.M)
    return f"(() => {{\n{body}\nreturn {{ {', '.join(names)} }};\n}})()"


def precache_urls():
    from webapp.web.pages import PRECACHED_PAGES

    files = [asset_url(p) for p in static_hashes()
             if p not in PRECACHE_SKIP and not p.startswith("screenshots/")]
    return [*PRECACHED_PAGES, NOT_FOUND, "/manifest.webmanifest", *files]


@bp.get(NOT_FOUND)
def not_found():
    """The "page not found" page, answered 200 so the worker can store it, and
    served by the worker with status 404 for an unknown address offline."""
    response = Response(render_template("404.html"))
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/sw.js")
def service_worker():
    kinds = json.dumps(registry(current_app).client(), ensure_ascii=False)
    source = SW_SOURCE.read_text(encoding="utf-8")
    source = source.replace('"__UNKNOT_VERSION__"', json.dumps(version(kinds)), 1)
    source = source.replace("[/*__UNKNOT_PRECACHE__*/]", json.dumps(precache_urls()), 1)
    source = source.replace("{/*__UNKNOT_KINDS__*/}", kinds, 1)
    source = source.replace("{/*__UNKNOT_KV__*/}", classic_kv(), 1)
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    data = {
        "id": "/",
        "name": "Unknot — leg cramp relief",
        "short_name": "Unknot",
        "description": content.load("site")["tagline"],
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "lang": "en",
        "dir": "ltr",
        "background_color": THEME_DARK,
        "theme_color": THEME_DARK,
        "categories": ["health", "medical", "lifestyle"],
        "icons": [
            {"src": asset_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
        "screenshots": [
            {"src": asset_url("screenshots/home-dark.png"), "sizes": "780x1688", "type": "image/png",
             "form_factor": "narrow", "label": "Cramp now: pick the muscle, start the stretch"},
            {"src": asset_url("screenshots/guide-night.png"), "sizes": "780x1688", "type": "image/png",
             "form_factor": "narrow", "label": "A guided calf stretch in the dim night theme"},
        ],
        "shortcuts": [
            {"name": "Cramp now", "short_name": "Cramp now", "description": "Open the calf stretch, ready to start",
             "url": "/guide/calf?source=shortcut", "icons": [{"src": asset_url("icons/icon-192.png"), "sizes": "192x192"}]},
            {"name": "Bedtime stretch", "short_name": "Bedtime", "description": "The three-minute routine before sleep",
             "url": "/routine/bedtime?source=shortcut", "icons": [{"src": asset_url("icons/icon-192.png"), "sizes": "192x192"}]},
        ],
    }
    response = Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


def init_app(app):
    app.register_blueprint(bp)
    app.jinja_env.globals["asset_url"] = asset_url

    @app.after_request
    def cache_static(response):
        if request.path.startswith("/static/"):
            fresh = request.args.get("v") and request.args.get("v") == static_hashes().get(
                request.path.removeprefix("/static/")
            )
            response.headers["Cache-Control"] = (
                "public, max-age=31536000, immutable" if fresh else "no-cache"
            )
        return response
