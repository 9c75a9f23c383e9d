"""The app as a person's phone sees it: installable, controlled by the
worker, readable offline, updated only when the person says so."""
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from webapp import ROOT

OFFLINE_PAGES = ["/", "/guide/calf", "/guide/foot", "/guide/hamstring", "/guide/quadriceps",
                 "/prevent", "/seek-care", "/routine/bedtime", "/about", "/cramps", "/reminders", "/diary"]


def cdp(page):
    return page.context.new_cdp_session(page)


def test_installable_and_controlled(browser):
    page = browser.open("/")
    browser.wait_for_worker(page)
    errors = cdp(page).send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == []
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["display"] == "standalone"
    assert [s["url"].split("?")[0] for s in manifest["shortcuts"]] == ["/guide/calf", "/routine/bedtime"]
    assert browser.console_errors == []
    assert browser.foreign_requests == []


def test_pages_render_offline_after_one_visit(browser, live_server):
    page = browser.open("/")
    browser.wait_for_worker(page)
    live_server.stop()
    for path in OFFLINE_PAGES:
        response = page.goto(browser.base_url + path)
        assert response.ok, path
        assert response.from_service_worker, path
        assert page.locator("h1").first.is_visible(), path
        assert "Not medical advice" in page.locator("footer").inner_text(), path
        if path == "/reminders":  # its module, and the module it imports, ran offline
            page.locator("#needs-js").wait_for(state="hidden", timeout=5000)
    page.goto(browser.base_url + "/guide/calf")
    assert "calf" in page.locator("h1").inner_text().lower()
    assert page.locator(".steps li").count() >= 3
    assert browser.foreign_requests == []
    # The browser reports each refused network try (the worker then answers
    # from its cache); anything else would be a real error.
    assert [e for e in browser.console_errors if "net::ERR_CONNECTION_REFUSED" not in e] == []


def test_unknown_address_offline_is_not_found(browser, live_server):
    page = browser.open("/")
    browser.wait_for_worker(page)
    live_server.stop()
    for path in ("/no-such-page", "/guide/elbow?source=now"):
        response = page.goto(browser.base_url + path)
        assert response.status == 404, path
        assert response.from_service_worker, path
        assert page.locator("h1").inner_text() == "We couldn't find that page", path
        assert page.get_by_role("link", name="Calf").is_visible(), "the guides are one tap away"
    response = page.goto(browser.base_url + "/guide/calf?source=now")
    assert response.status == 200 and "calf" in page.locator("h1").inner_text().lower()


def test_api_is_never_cached(browser, live_server):
    page = browser.open("/")
    browser.wait_for_worker(page)
    page.evaluate("fetch('/api/push/public-key').then(r => r.json())")
    cached = page.evaluate(
        "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))"
        ".then(lists => lists.flat().map(r => r.url))"
    )
    assert cached and not [u for u in cached if "/api/" in u]
    live_server.stop()
    failed = page.evaluate("fetch('/api/push/public-key').then(() => false, () => true)")
    assert failed


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(launch_browser, live_server, output_dir, scheme):
    browser = launch_browser(live_server.url, color_scheme=scheme)
    page = browser.page()
    for path in ["/", "/guide/calf", "/prevent", "/seek-care", "/reminders", "/routine/bedtime"]:
        browser.open(path, page=page)
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=str(output_dir / f"{name}-{scheme}.png"), full_page=False)
    assert browser.console_errors == []


def test_theme_choice_is_remembered(browser):
    page = browser.open("/")
    control = page.get_by_role("button", name="Theme: Automatic")
    control.click()
    page.get_by_role("button", name="Theme: Light").click()
    assert page.evaluate("document.documentElement.dataset.theme") in ("dark", "night")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") in ("dark", "night")
    assert page.get_by_role("button", name="Theme: Dark").is_visible()


SERVE = """
import sys
from werkzeug.serving import run_simple
from webapp import create_app
app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///" + sys.argv[2],
                  "VAPID_PRIVATE_KEY": sys.argv[3], "SCHEDULER": "off"})
run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
"""


class CopiedServer:
    """The app from a copy of the tree, in its own process, so a test can
    ship a new version: change a file, restart."""

    def __init__(self, tree, port):
        self.tree, self.port, self.process = tree, port, None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(self.port), str(self.tree / "db.sqlite"),
             str(self.tree / "vapid.pem")], cwd=self.tree)
        import urllib.request

        deadline = time.monotonic() + 60  # a busy machine starts it slowly
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/manifest.webmanifest", timeout=2)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_new_version_waits_for_the_tap(launch_browser, tmp_path):
    tree = tmp_path / "tree"
    for part in ("webapp", "static", "service_worker"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    server = CopiedServer(tree, free_port())
    server.start()
    try:
        browser = launch_browser(f"http://127.0.0.1:{server.port}")
        page = browser.open("/")
        browser.wait_for_worker(page)
        old = page.evaluate("caches.keys()")
        assert len(old) == 1

        server.stop()
        css = tree / "static" / "css" / "app.css"
        css.write_text(css.read_text() + "\n/* a new version */\n")
        server.start()

        page.evaluate("window.__sameDocument = true")
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        toast = page.locator("#update-toast")
        toast.wait_for(state="visible", timeout=15000)
        assert "A new version is ready" in toast.inner_text()
        # The new version installed and waits for the tap: nothing changed behind the person's back.
        page.wait_for_function("() => navigator.serviceWorker.getRegistration().then(r => !!r.waiting)",
                               timeout=15000, polling=100)
        assert page.evaluate("window.__sameDocument") is True
        assert old[0] in page.evaluate("caches.keys()")

        with page.expect_navigation(timeout=15000):
            page.get_by_role("button", name="Update now").click()
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
        page.wait_for_function(f"() => caches.keys().then(k => k.length === 1 && k[0] !== {old[0]!r})",
                               timeout=15000, polling=200)
        new = page.evaluate("caches.keys()")
        assert len(new) == 1 and new != old  # the old version's cache is gone
        assert page.evaluate("window.__sameDocument") is None
        assert browser.console_errors == []
    finally:
        server.stop()
