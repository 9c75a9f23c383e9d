"""Clinical safety in real Chromium: the 10-minute alert in the player, the
emergency numbers by region (offline too), no auto-advance onto a standing
step, the fluid limit, the red-flag boxes; axe and screenshots at 390×844.

Time is Playwright's fake clock, installed before the page loads and paused,
so a ten-minute cramp takes milliseconds. Every wait is bounded."""
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.browser.test_large_text import axe_problems, fresh_page, large, problems  # noqa: F401 (large is a fixture)
from tests.browser.test_player import assert_clean, axe_violations, timer_seconds
from tests.browser.test_reminders_ui import subscribed_page

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NIGHT = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
READY = "() => document.getElementById('player').classList.contains('is-ready')"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "safety"
OUTPUT.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def app(push_app):
    """The reminders test needs the loopback push service; the other pages don't mind."""
    return push_app


def phone(launch_browser, live_server, **options):
    options.setdefault("timezone_id", "UTC")
    return launch_browser(live_server.url, **options)


def open_paused(b, path, at=NOON, region=None):
    page = b.page()
    if region:
        page.add_init_script(f"localStorage.setItem('unknot-region', {json.dumps(region)})")
    page.clock.install(time=at)
    b.open(path, page=page)
    page.clock.pause_at(at + timedelta(seconds=10))
    return page


def start_player(page):
    page.wait_for_function(READY, timeout=5000)
    page.get_by_role("button", name="Start").click()
    page.get_by_role("dialog").wait_for(timeout=5000)


def step(page):
    match = re.fullmatch(r"Step (\d+) of (\d+)", page.locator(".pl-count").inner_text())
    assert match
    return int(match[1]), int(match[2])


def numbers(page, selector='[data-call="emergency"]'):
    found = page.eval_on_selector_all(selector, "els => els.map(a => [a.getAttribute('href'), a.textContent.trim(), a.hidden])")
    return [tuple(link) for link in found]


# ---------- The 10-minute mark ----------

def test_ten_minute_alert_during_a_long_calf_stretch(launch_browser, live_server, output_dir):
    b = phone(launch_browser, live_server)
    page = open_paused(b, "/guide/calf", at=NIGHT, region="uk")
    start_player(page)
    page.get_by_role("button", name="Next").click()  # onto the first 30-second hold
    assert step(page)[0] == 2 and timer_seconds(page) == 30
    started = page.evaluate("Date.now()")
    extend = page.get_by_role("button", name=re.compile(r"\+15 s"))
    alert = page.get_by_role("dialog").get_by_role("alert")
    # Keep the hold going with +15 s presses, as a person with a stubborn cramp would.
    while page.evaluate("Date.now()") - started < 9 * 60_000 + 45_000:
        extend.click()
        page.clock.run_for(15_000)
        assert step(page)[0] == 2, "+15 s keeps the same stretch"
    assert alert.count() == 0, "no alert before 10 minutes"
    extend.click()
    page.clock.run_for(16_000)
    alert.wait_for(timeout=5000)
    text = alert.inner_text()
    assert "A cramp over 10 minutes" in text and "Get medical help today" in text
    call = alert.get_by_role("link", name="Call 999")
    assert call.get_attribute("href") == "tel:999" and call.is_visible() and call.is_enabled()
    assert alert.get_by_role("link", name="Call NHS 111").get_attribute("href") == "tel:111"
    assert alert.get_by_role("link", name="When to get help").get_attribute("href") == "/seek-care#urgent"
    # The stretch goes on: same step, the timer still counting, nothing reset.
    before = timer_seconds(page)
    page.clock.run_for(3_000)
    assert step(page)[0] == 2 and timer_seconds(page) == before - 3
    assert page.get_by_role("dialog").is_visible()
    page.screenshot(path=str(output_dir / "ten-minute-alert-390x844.png"))
    assert axe_violations(page) == []
    # Stop takes the alert away with the run; a new cramp starts from zero.
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("dialog").wait_for(state="hidden", timeout=5000)
    start_player(page)
    assert page.get_by_role("dialog").get_by_role("alert").count() == 0
    assert_clean(b)


def test_the_bedtime_routine_never_raises_the_cramp_alert(launch_browser, live_server):
    b = phone(launch_browser, live_server)
    page = open_paused(b, "/routine/bedtime")
    start_player(page)
    page.get_by_role("button", name="Pause").click()
    page.clock.run_for(11 * 60_000)
    assert page.get_by_role("dialog").get_by_role("alert").count() == 0
    assert_clean(b)


# ---------- Fall safety: never onto a standing step by itself ----------

def test_a_night_guide_never_auto_advances_onto_a_standing_step(launch_browser, live_server):
    b = phone(launch_browser, live_server)
    page = open_paused(b, "/guide/calf", at=NIGHT)
    standing = page.eval_on_selector_all("#routine li.step, #aftercare li.step", "els => els.map(li => 'standing' in li.dataset)")
    assert standing.count(True) == 1, "the after-care's getting-up step"
    before_standing = standing.index(True)  # 1-based number of the step before it
    start_player(page)
    page.get_by_role("button", name="Next").click()  # past a first step that may wait for a tap
    for _ in range(40):  # far longer than every step together
        page.clock.run_for(30_000)
    assert step(page)[0] == before_standing, "stopped on the step before standing up"
    assert timer_seconds(page) in (0, None) and "tap Next" in page.get_by_role("timer").inner_text()
    page.get_by_role("button", name="Next").click()
    assert step(page)[0] == before_standing + 1
    assert "steady" in page.locator(".pl-text").inner_text()
    assert_clean(b)


def test_bedtime_standing_set_waits_before_each_standing_setup(launch_browser, live_server):
    b = phone(launch_browser, live_server)
    page = open_paused(b, "/routine/bedtime")
    start_player(page)
    page.get_by_role("button", name="Next").click()  # into the first hold, standing already
    for _ in range(40):
        page.clock.run_for(15_000)
    assert page.locator(".pl-phase").inner_text() == "Wall calf stretch · Left leg"
    assert "tap Next" in page.get_by_role("timer").inner_text(), "the right leg's standing setup waits for a tap"
    assert_clean(b)


# ---------- Numbers by region ----------

@pytest.mark.parametrize("locale, emergency, urgent", [
    ("en-GB", "999", "111"), ("en-US", "911", None), ("de-DE", "112", None), ("en-AU", "000", None),
    ("en-NZ", "111", None), ("en", "112", None),
])
def test_region_comes_from_the_browser_language(launch_browser, live_server, locale, emergency, urgent):
    b = phone(launch_browser, live_server, locale=locale)
    page = b.open("/seek-care")
    page.wait_for_function("() => !document.getElementById('region').hidden", timeout=5000)
    calls = numbers(page)
    assert len(calls) >= 3 and {c[:2] for c in calls} == {(f"tel:{emergency}", f"Call {emergency}")}
    urgent_links = numbers(page, '[data-call="urgent"]')
    assert urgent_links and all(hidden == (urgent is None) for _, _, hidden in urgent_links)
    if urgent:
        assert {c[0] for c in urgent_links} == {f"tel:{urgent}"}
    note = page.locator("[data-call-note]").first
    assert note.is_visible() == (locale == "en"), "unknown region: 112 and 'your local emergency number'"
    assert_clean(b)


def test_changing_the_region_changes_every_number_offline(launch_browser, live_server, output_dir):
    b = phone(launch_browser, live_server, locale="en-GB")
    page = b.open("/seek-care")
    b.wait_for_worker(page)
    page.reload()
    page.wait_for_function("() => !document.getElementById('region').hidden", timeout=5000)
    assert {c[0] for c in numbers(page)} == {"tel:999"}
    b.context.set_offline(True)
    page.get_by_role("button", name="Australia").click()
    assert page.get_by_role("button", name="Australia").get_attribute("aria-pressed") == "true"
    assert {c[:2] for c in numbers(page)} == {("tel:000", "Call 000")}
    assert all(hidden for *_, hidden in numbers(page, '[data-call="urgent"]')), "no NHS 111 outside the UK"
    assert page.locator("[data-region-name]").inner_text() == "Australia"
    # Remembered on this device, offline: another page and a reload keep it.
    page.reload()
    assert {c[0] for c in numbers(page)} == {"tel:000"}
    other = b.open("/guide/calf", page=b.context.new_page())
    other.wait_for_function("() => document.querySelector('[data-call=emergency]').href === 'tel:000'", timeout=5000)
    assert {c[0] for c in numbers(other)} == {"tel:000"}, "the checks, the footer and the alert template"
    page.get_by_role("button", name="Somewhere else").click()
    assert {c[0] for c in numbers(page)} == {"tel:112"}
    assert page.locator("[data-call-note]").first.is_visible()
    page.locator("#region").screenshot(path=str(output_dir / "region-chooser.png"))
    b.context.set_offline(False)
    assert_clean(b)


# ---------- The red-flag boxes, looked at and checked by axe ----------

@pytest.mark.parametrize("theme", ["light", "dark", "night"])
def test_red_flag_boxes_axe_and_screenshots(launch_browser, live_server, output_dir, theme):
    b = phone(launch_browser, live_server, color_scheme="dark" if theme == "dark" else "light", locale="en-GB")
    at = NIGHT if theme == "night" else NOON
    page = open_paused(b, "/seek-care", at=at)
    if theme == "night":
        page.evaluate("document.documentElement.dataset.theme = 'night'")
    for level in ("emergency", "urgent", "soon"):
        box = page.locator(f".redflag-{level}#{level}")
        assert box.is_visible()
        box.screenshot(path=str(output_dir / f"seek-care-{level}.png"))
    page.locator("footer .foot-flags").screenshot(path=str(output_dir / "footer.png"))
    assert axe_violations(page) == [], "/seek-care"

    page = open_paused(b, "/guide/calf", at=at)
    if theme == "night":
        page.evaluate("document.documentElement.dataset.theme = 'night'")
    for check in ("long", "swollen", "breath", "statin"):
        page.locator(f'input[name="{check}"][value="yes"]').check()
        box = page.locator(f"#advice-{check}")
        assert box.is_visible() and box.locator("[data-flag]").count() >= 1
        box.screenshot(path=str(output_dir / f"aftercare-{check}.png"))
    assert axe_violations(page) == [], "/guide/calf with every check answered yes"

    page = open_paused(b, "/about", at=at)
    assert axe_violations(page) == [], "/about"
    assert_clean(b)


@pytest.mark.parametrize("theme", ["light", "dark", "night"])
def test_diary_flags_from_the_table(launch_browser, live_server, output_dir, theme):
    b = phone(launch_browser, live_server, locale="en-GB", timezone_id="Europe/London",
              color_scheme="dark" if theme == "dark" else "light")
    page = b.open("/diary")
    page.locator("#app").wait_for(timeout=10000)
    now = page.evaluate("Date.now()")
    day = 864e5
    # Woken on 4 nights a week for two weeks, a statin, another medicine, numbness, warmth.
    entries = [{"id": f"w{i}", "at": datetime.fromtimestamp((now - (0.5 + i * 1.9) * day) / 1000, UTC).isoformat(),
                "woke": True, "muscle": "calf"} for i in range(8)]
    entries += [
        {"id": "s", "at": datetime.fromtimestamp((now - 2 * day) / 1000, UTC).isoformat(), "triggers": ["statin"]},
        {"id": "m", "at": datetime.fromtimestamp((now - 3 * day) / 1000, UTC).isoformat(), "triggers": ["medicine"]},
        {"id": "n", "at": datetime.fromtimestamp((now - 4 * day) / 1000, UTC).isoformat(), "symptoms": ["numbness"]},
        {"id": "r", "at": datetime.fromtimestamp((now - 5 * day) / 1000, UTC).isoformat(), "symptoms": ["warm"]},
    ]
    store = page.locator("#diary").get_attribute("data-store")
    page.evaluate("async ([url, entries]) => { const s = await import(url); await s.open(); "
                  "for (const e of entries) await s.putEntry(s.normalize(e)); }", [store, entries])
    page.reload()
    page.locator("#flags").wait_for(timeout=10000)
    if theme == "night":
        page.evaluate("document.documentElement.dataset.theme = 'night'")
    kinds = page.eval_on_selector_all(".flag", "els => els.map(f => f.className.replace('flag flag-', ''))")
    assert kinds == ["statin", "swelling", "frequent", "weakness", "medicine"]
    statin = page.locator(".flag-statin")
    assert statin.locator(".redflag-urgent [data-flag=statin]").count() == 1
    assert statin.get_by_role("link", name="Call NHS 111").get_attribute("href") == "tel:111"
    assert page.locator(".flag-medicine .redflag-soon [data-flag=other-medicine]").count() == 1
    assert "see a GP" in page.locator(".flag-frequent").inner_text()
    for kind in kinds:
        page.locator(f".flag-{kind}").screenshot(path=str(output_dir / f"diary-{kind}.png"))
    assert "Muscle pain or cramps on a statin" in page.locator("#facts").inner_text()
    # The new symptom boxes.
    page.get_by_role("button", name="Log one with details").click()
    for label in ("Swelling in one leg", "Warmth or redness", "Numbness", "Weakness", "Started or changed a statin"):
        assert page.locator("#entry-form").get_by_label(label).count() == 1
    assert axe_violations(page) == []
    assert_clean(b)


# ---------- "My doctor limits how much I drink" ----------

def test_fluid_limit_in_the_diary_hides_water_tips(launch_browser, live_server):
    b = phone(launch_browser, live_server)
    page = b.open("/diary")
    page.locator("#app").wait_for(timeout=10000)
    assert page.locator("#water-tip").is_visible() and page.locator("#fluid-plan").is_hidden()
    page.get_by_label("My doctor limits how much I drink").check()
    assert page.locator("#water-tip").is_hidden() and "fluid plan" in page.locator("#fluid-plan").inner_text()
    page.reload()
    page.locator("#app").wait_for(timeout=10000)
    # The diary shows its frame before it has read what the device holds: give it that time.
    page.locator("#fluid-limited:checked").wait_for(timeout=10000)
    assert page.get_by_label("My doctor limits how much I drink").is_checked(), "remembered on the device"
    assert page.locator("#water-tip").is_hidden()
    assert_clean(b)


@pytest.mark.parametrize("theme", ["light", "night"])
def test_fluid_limit_on_reminders_stops_water_reminders(launch_browser, live_server, push_service, client, theme):
    browser, page, _ = subscribed_page(launch_browser, live_server, push_service, client)
    if theme == "night":
        page.evaluate("document.documentElement.dataset.theme = 'night'")
    goal = page.get_by_label(re.compile("Daily goal"))
    assert goal.is_visible() and "Next water reminder" in page.locator("#next").inner_text()
    # A goal over about 3 litres asks first.
    goal.fill("14")
    page.get_by_role("button", name="Save schedule").click()
    page.get_by_text("over 3 litres").wait_for(timeout=5000)
    token = page.evaluate("""new Promise(r => { const o = indexedDB.open('unknot', 1);
        o.onsuccess = () => { const g = o.result.transaction('kv').objectStore('kv').get('token');
        g.onsuccess = () => r(g.result); }; })""")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/reminders", headers=headers).json["hydration"]["goal_glasses"] == 8, "not saved yet"
    page.get_by_role("button", name="Save schedule").click()
    page.get_by_text("Saved.", exact=True).wait_for(timeout=5000)
    assert client.get("/api/reminders", headers=headers).json["hydration"]["goal_glasses"] == 14

    page.get_by_label("My doctor limits how much I drink").check()
    assert goal.is_hidden() and page.get_by_label("Remind me to drink water").is_hidden()
    assert "fluid plan" in page.locator("#fluid-plan").inner_text()
    page.evaluate("document.getElementById('plan-status').textContent = ''")
    page.get_by_role("button", name="Save schedule").click()
    page.get_by_text("Saved.", exact=True).wait_for(timeout=5000)
    plan = client.get("/api/reminders", headers=headers).json
    assert plan["hydration"]["fluid_limited"] is True
    assert plan["next"]["hydration"] is None, "no hydration reminder is due"
    assert axe_violations(page) == []
    page.screenshot(path=str(OUTPUT / f"reminders-fluid-limited-{theme}.png"), full_page=True)
    # The diary on this device follows the same choice.
    diary = browser.open("/diary")
    diary.locator("#app").wait_for(timeout=10000)
    assert diary.get_by_label("My doctor limits how much I drink").is_checked()
    assert diary.locator("#water-tip").is_hidden()
    assert_clean(browser)


@pytest.mark.parametrize("theme, region", [("light", "uk"), ("night", "us-ca")])
def test_ten_minute_alert_at_320px_and_200_percent_text(large, theme, region, output_dir):
    """With the biggest text on the smallest phone the alert, the step and Stop/Pause/Next all stay on screen."""
    b = large("320", theme)
    b.context.add_init_script(f"location.protocol === 'http:' && localStorage.setItem('unknot-region', {json.dumps(region)})")
    page = fresh_page(b, "/guide/calf")
    start_player(page)
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Pause").click()  # a long cramp: the hold is kept, time goes on
    page.clock.run_for(10 * 60_000 + 1000)
    alert = page.get_by_role("dialog").get_by_role("alert")
    alert.wait_for(timeout=5000)
    assert alert.get_by_role("link", name=re.compile(r"^Call ")).first.is_visible()
    page.screenshot(path=str(output_dir / f"alert-320x640-200pc-{theme}.png"))
    assert problems(page, "alert", player=True) == []
    assert axe_problems(page, "alert") == []
    assert_clean(b)
