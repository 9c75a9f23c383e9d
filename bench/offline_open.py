"""Offline open of /guide/calf in headless Chromium, to its first step on
screen, against the same page opened online, in the same run.

    python -m bench.offline_open [runs]

"On screen" is the first animation frame in which the first step's text is
visible (checked each frame by an init script). Budget (DESIGN.md): 200 ms.
"""
import statistics
import sys
import tempfile

from bench.serve import Server
from tests.browser.conftest import ARGS, CHROMIUM

BUDGET_MS = 200
PROBE = """
(() => {
  const start = performance.now();
  function visible(el) {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  }
  function check() {
    const el = document.querySelector("[data-step-text], .step-text");
    if (el && el.textContent.trim() && visible(el)) { window.__firstStep = performance.now(); return; }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""


def measure(page, url, runs):
    times = []
    for _ in range(runs):
        page.goto(url)
        page.wait_for_function("() => window.__firstStep !== undefined", timeout=10000)
        # performance.now() counts from the navigation's time origin.
        times.append(page.evaluate("window.__firstStep"))
    return times


def describe(name, times):
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    print(f"{name:>8}: median {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  (n={len(times)})")
    return statistics.median(times)


def main(runs=15):
    from playwright.sync_api import sync_playwright

    server = Server().start()
    url = server.url + "/guide/calf"
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 390, "height": 844}, device_scale_factor=2)
        context.add_init_script(PROBE)
        page = context.pages[0]
        page.goto(url)
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
        online = describe("online", measure(page, url, runs))
        server.stop()
        offline = describe("offline", measure(page, url, runs))
        context.close()
    print(f"offline/online = {offline / online:.2f}; offline median / budget {BUDGET_MS} ms = {offline / BUDGET_MS:.2f}"
          f" ({'within' if offline <= BUDGET_MS else 'OVER'} budget)")
    return 0 if offline <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15))
