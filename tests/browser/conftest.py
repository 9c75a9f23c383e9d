"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright,
against the app served on 127.0.0.1 by a real HTTP server in a thread.

Without Chromium the browser tests skip, unless UNKNOT_REQUIRE_BROWSER=1
(set by .ci/run), where they fail instead.
"""
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("UNKNOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}; install Debian's 'chromium' package"
        if os.environ.get("UNKNOT_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_instance(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


class LiveServer:
    """The app on a real socket; stop() and start() keep the same port."""

    def __init__(self, app, port=0):
        self.app = app
        self.port = port
        self.server = None
        self.thread = None

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def live_server(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def output_dir(request):
    path = OUTPUT / request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Browser:
    """A persistent (non-incognito) Chromium profile with problem collectors."""

    def __init__(self, context, base_url):
        self.context = context
        self.base_url = base_url
        self.console_errors = []
        self.foreign_requests = []
        context.on("request", self._on_request)
        context.on("page", self._watch)
        for page in context.pages:
            self._watch(page)

    def _watch(self, page):
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def _on_request(self, request):
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host not in ("127.0.0.1", "localhost"):
            self.foreign_requests.append(request.url)

    def page(self):
        return self.context.pages[0] if self.context.pages else self.context.new_page()

    def open(self, path="/", page=None, **kwargs):
        page = page or self.page()
        page.goto(self.base_url + path, **kwargs)
        return page

    def wait_for_worker(self, page):
        """Wait until a service worker controls the page (bounded)."""
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)


@pytest.fixture
def launch_browser(playwright_instance, chromium_path, tmp_path):
    """Call with a base URL (and options) to get a Browser; closed at teardown."""
    opened = []

    def launch(base_url, *, color_scheme="light", permissions=(), **options):
        profile = tmp_path / f"profile-{len(opened)}"
        context = playwright_instance.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path,
            headless=True,
            args=ARGS + options.pop("extra_args", []),
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=False,
            has_touch=True,
            color_scheme=color_scheme,
            permissions=list(permissions),
            base_url=base_url,
            **options,
        )
        opened.append(context)
        return Browser(context, base_url)

    yield launch
    for context in opened:
        context.close()


@pytest.fixture
def browser(launch_browser, live_server):
    return launch_browser(live_server.url)
