"""Night on every page: the dim theme follows the local clock (and the
bedtime hours known on the device), from before the first paint; the theme
control has three states, Automatic by default."""
from datetime import UTC, datetime, timedelta

import pytest
from test_large_text import LARGE_TEXT, PAGES  # tests/browser is on the path (no __init__.py)

# 03:00 in Berlin (CET, UTC+1) on a phone whose system is in light mode.
BERLIN_3AM = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
BERLIN_NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
NIGHT_BG = "rgb(14, 11, 9)"
LIGHT_BG = "rgb(246, 244, 239)"
DARK_BG = "rgb(20, 32, 42)"
# The theme as the body is first attached, before anything is painted.
FIRST_PAINT = """
window.__firstTheme = undefined;
new MutationObserver((_, observer) => {
  if (!document.body) return;
  window.__firstTheme = document.documentElement.dataset.theme || null;
  observer.disconnect();
}).observe(document, { childList: true, subtree: true });
"""


@pytest.fixture
def berlin(launch_browser, live_server):
    def launch(at, color_scheme="light"):
        b = launch_browser(live_server.url, color_scheme=color_scheme, timezone_id="Europe/Berlin")
        page = b.page()
        page.add_init_script(FIRST_PAINT)
        page.clock.install(time=at)
        return b, page
    return launch


def theme(page):
    return page.evaluate("[document.documentElement.dataset.theme || null, getComputedStyle(document.body).backgroundColor]")


def control(page):
    return page.get_by_role("button", name="Theme:")


def shown_choice(page):
    return page.locator("#theme-toggle [data-theme-label]").inner_text()


def test_home_is_night_at_3am_with_the_system_light(berlin):
    b, page = berlin(BERLIN_3AM)
    b.open("/", page=page)
    assert theme(page) == ["night", NIGHT_BG]
    assert page.evaluate("window.__firstTheme") == "night", "dim from the first paint"
    assert page.locator('meta[name="theme-color"]').first.get_attribute("content") == "#0e0b09"
    assert shown_choice(page) == "Automatic"
    assert b.console_errors == [] and b.foreign_requests == []


def test_every_page_is_night_at_3am(berlin):
    b, page = berlin(BERLIN_3AM)
    for path in PAGES:
        b.open(path, page=page)
        assert theme(page) == ["night", NIGHT_BG], path
        assert page.evaluate("window.__firstTheme") == "night", path
    assert b.console_errors == [] and b.foreign_requests == []


def test_three_states_and_automatic_restores_night(berlin):
    b, page = berlin(BERLIN_3AM)
    b.open("/", page=page)
    seen = []
    for _ in range(3):
        control(page).click()
        seen.append((shown_choice(page), *theme(page)))
    assert seen == [("Light", "light", LIGHT_BG), ("Dark", "night", NIGHT_BG), ("Automatic", "night", NIGHT_BG)]
    control(page).click()  # Light, kept across pages and reloads
    b.open("/prevent", page=page)
    assert theme(page) == ["light", LIGHT_BG] and page.evaluate("window.__firstTheme") == "light"
    assert page.get_by_role("button", name="Theme: Light").is_visible()
    control(page).click()
    control(page).click()
    page.reload()
    assert theme(page) == ["night", NIGHT_BG]
    assert page.evaluate("localStorage.getItem('unknot-theme')") is None, "Automatic is the default, nothing stored"
    assert b.console_errors == [] and b.foreign_requests == []


def test_in_the_day_dark_is_dark_and_automatic_follows_the_system(berlin):
    b, page = berlin(BERLIN_NOON)
    b.open("/", page=page)
    assert theme(page) == [None, LIGHT_BG]
    control(page).click()
    control(page).click()
    assert shown_choice(page) == "Dark"
    assert theme(page) == ["dark", DARK_BG]
    control(page).click()
    assert theme(page) == [None, LIGHT_BG]
    dark, page = berlin(BERLIN_NOON, color_scheme="dark")
    dark.open("/", page=page)
    assert theme(page) == [None, DARK_BG]
    dark.open("/guide/calf", page=page)
    assert theme(page) == ["night", NIGHT_BG], "the stretches are dim whenever it is dark"


def test_bedtime_hours_on_the_device_bring_the_night(berlin):
    b, page = berlin(BERLIN_NOON)
    b.open("/", page=page)
    # Quiet hours 11:30–13:00, as the reminders page remembers them.
    page.evaluate("localStorage.setItem('unknot-quiet-hours', JSON.stringify([690, 780]))")
    page.reload()
    assert theme(page) == ["night", NIGHT_BG]
    # The player's own night hours win over the quiet hours.
    page.evaluate("localStorage.setItem('unknot-night-hours', JSON.stringify([21, 7]))")
    page.reload()
    assert theme(page) == [None, LIGHT_BG]
    # The page follows the clock while it stays open.
    page.evaluate("localStorage.setItem('unknot-night-hours', JSON.stringify([13, 7]))")
    page.clock.run_for(timedelta(hours=1, minutes=1).total_seconds() * 1000)
    assert theme(page) == ["night", NIGHT_BG]


def test_axe_at_night_with_large_text(berlin):
    from axe_playwright_python.sync_playwright import Axe

    b, page = berlin(BERLIN_3AM)
    page.add_init_script(LARGE_TEXT)
    page.set_viewport_size({"width": 320, "height": 640})
    b.open("/", page=page)
    page.clock.resume()
    for _ in range(3):
        page.wait_for_function("() => document.getAnimations().length === 0", timeout=5000)  # colours at rest
        results = Axe().run(page)
        assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]] == []
        control(page).click()


def test_home_screenshots_at_3am(berlin, output_dir):
    b, page = berlin(BERLIN_3AM)
    b.open("/", page=page)
    page.screenshot(path=output_dir / "home-3am-390.png")
    page.add_init_script(LARGE_TEXT)
    page.set_viewport_size({"width": 320, "height": 640})
    page.reload()
    page.wait_for_function("() => document.documentElement.style.fontSize === '200%'", timeout=5000)
    page.screenshot(path=output_dir / "home-3am-320-200pct.png")
    assert (output_dir / "home-3am-320-200pct.png").stat().st_size > 10_000
