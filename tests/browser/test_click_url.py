"""The URL a notification click opens, worked out by the real service worker
in Chromium: resolved against our origin, kept only when it stays there."""
from urllib.parse import urlsplit

# url in the push payload -> the path (and query) it must open on our origin
CASES = {
    "/guide/calf": "/guide/calf",
    "/routine/bedtime?source=reminder": "/routine/bedtime?source=reminder",
    "/..//evil.test/x": "//evil.test/x",  # a path on our origin, never the host evil.test
    "/%2e%2e//evil.test/x": "//evil.test/x",
    "/./.././/evil.test/x": "//evil.test/x",
    "//evil.test/x": "/",
    "/\\evil.test/x": "/",
    "\\\\evil.test/x": "/",
    "https://evil.test/x": "/",
    "http://127.0.0.1.evil.test/x": "/",
    "javascript:alert(1)": "/",
    "data:text/html,hi": "/",
    "": "/",
    None: "/",
    42: "/",
}


def test_notification_urls_open_only_our_own_pages(browser, live_server):
    page = browser.open("/")
    browser.wait_for_worker(page)
    ours = [w for w in browser.context.service_workers if w.url.endswith("/sw.js")]
    worker = ours[0] if ours else browser.context.wait_for_event(
        "serviceworker", predicate=lambda w: w.url.endswith("/sw.js"), timeout=15000)
    results = worker.evaluate(
        """(cases) => cases.map((url) => {
             const kept = sameOriginPath(url === null ? undefined : url);
             return new URL(kept, self.location.origin).href;  // what openPage opens
           })""",
        list(CASES),
    )
    for (url, expected), opened in zip(CASES.items(), results):
        parts = urlsplit(opened)
        assert f"{parts.scheme}://{parts.netloc}" == live_server.url, (url, opened)
        assert parts.path + (f"?{parts.query}" if parts.query else "") == expected, (url, opened)
    assert browser.console_errors == []
