"""The stretch player in real Chromium: timing, cues, keyboard, offline, accessibility.

Time is Playwright's fake clock (installed before the page loads, then
paused), so whole routines run in milliseconds and every step boundary is
exact. Every wait is bounded.
"""
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NIGHT = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
CALF_STEPS = 10  # 6 stretch steps + 4 after-care steps
# Auto-advance, hold times as written: the first step waits for a tap, then
# untimed steps move on after 5 s.
CALF_SECONDS = [0, 30, 5, 30, 5, 30, 30, 5, 5, 5]

SPEECH_STUB = """
window.__spoken = [];
const voices = window.__noVoices ? [] : [{ name: "Test English", lang: "en-GB", localService: true, default: true, voiceURI: "test-en" }];
Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
  speaking: false, pending: false, paused: false,
  getVoices: () => voices, speak: (u) => window.__spoken.push(u.text), cancel() {}, pause() {}, resume() {},
  addEventListener() {}, removeEventListener() {},
} });
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
"""
NO_VOICES = "window.__noVoices = true;"
WAKE_LOCK_SPY = """
window.__wake = { requests: 0, releases: 0, sentinels: [] };
if (navigator.wakeLock) {
  const real = navigator.wakeLock.request.bind(navigator.wakeLock);
  navigator.wakeLock.request = async (type) => {
    window.__wake.requests++;
    const sentinel = await real(type);
    window.__wake.sentinels.push(sentinel);
    sentinel.addEventListener("release", () => window.__wake.releases++);
    return sentinel;
  };
}
"""
READY = "() => document.getElementById('player').classList.contains('is-ready')"
CUE_SPY = """
window.__buzz = [];
navigator.vibrate = (pattern) => { window.__buzz.push(pattern); return true; };
window.__tones = 0;
window.__contexts = [];
const realStart = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__tones++; return realStart.apply(this, args); };
const RealContext = window.AudioContext;
window.AudioContext = class extends RealContext {
  constructor(...args) { super(...args); window.__contexts.push(navigator.userActivation.isActive); }
};
"""
WAKE_ACTIVE = "() => window.__wake.sentinels.filter((s) => !s.released).length"


@pytest.fixture
def phone(launch_browser, live_server):
    """A phone-sized Chromium in UTC that may hold the screen awake."""
    def launch(color_scheme="light", **options):
        return launch_browser(live_server.url, color_scheme=color_scheme, timezone_id="UTC",
                              permissions=["screen-wake-lock"], **options)
    return launch


def open_paused(b, path, at=NOON, scripts=()):
    """Open `path` with the fake clock installed at `at`, then stop time."""
    page = b.page()
    for script in scripts:
        page.add_init_script(script)
    page.clock.install(time=at)
    b.open(path, page=page)
    page.clock.pause_at(at + timedelta(seconds=10))
    page.wait_for_function(READY, timeout=5000)
    return page


def set_storage(page, key, value):
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, json.dumps(value)])


def storage(page, key):
    return page.evaluate("(k) => JSON.parse(localStorage.getItem(k))", key)


def start(page):
    page.get_by_role("button", name="Start").click()
    page.get_by_role("dialog").wait_for(timeout=5000)


def begin(page):
    """The first step waits for a tap: give it."""
    assert step_number(page) == 1 and timer_seconds(page) is None
    page.get_by_role("button", name="Next").click()


def run_to_end(page, limit=60):
    """Let the clock run each step out, tapping Next where the player waits."""
    for _ in range(limit):
        if page.locator(".pl-done-title").is_visible():
            return
        seconds = timer_seconds(page)
        if seconds:
            page.clock.run_for(seconds * 1000)
        else:
            page.get_by_role("button", name=re.compile("^(Next|Finish)$")).click()
    raise AssertionError("the routine did not end")


def step_number(page):
    text = page.locator(".pl-count").inner_text()
    match = re.fullmatch(r"Step (\d+) of (\d+)", text)
    assert match, text
    return int(match[1])


def timer_seconds(page):
    """The number on the timer, or None when it waits for a tap."""
    num = page.get_by_role("timer").inner_text().split()[0]
    if ":" in num:
        minutes, seconds = num.split(":")
        return int(minutes) * 60 + int(seconds)
    return int(num) if num.isdigit() else None


def step_text(page):
    return page.locator(".pl-text").inner_text().strip()


def assert_clean(b):
    assert b.console_errors == []
    assert b.foreign_requests == []


def page_steps(page, section="#routine, #aftercare"):
    return page.eval_on_selector_all(
        f":is({section}) li.step .step-text", "els => els.map((e) => e.textContent.trim())")


# ---------- Timing ----------

def test_timer_counts_down_and_advances(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    texts = page_steps(page)
    start(page)
    assert page.evaluate("'playing' in document.documentElement.dataset")
    assert step_number(page) == 1 and step_text(page) == texts[0]
    assert timer_seconds(page) is None, "the first step waits for a tap"
    assert "Tap Next" in page.get_by_role("timer").inner_text()
    assert page.evaluate("document.activeElement.dataset.act") == "next"
    page.clock.run_for(600_000)
    assert step_number(page) == 1
    begin(page)
    assert step_number(page) == 2 and step_text(page) == texts[1]
    assert timer_seconds(page) == 30
    assert "seconds left" in page.get_by_role("timer").inner_text()
    page.clock.run_for(12_000)
    assert timer_seconds(page) == 18
    page.clock.run_for(18_000)
    assert step_number(page) == 3 and timer_seconds(page) == 5
    assert_clean(b)


def test_pause_stops_time_and_resume_continues(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    start(page)
    begin(page)
    page.clock.run_for(3000)
    assert (step_number(page), timer_seconds(page)) == (2, 27)
    assert page.get_by_role("dialog").get_attribute("data-paused") is None
    page.get_by_role("button", name="Pause").click()
    assert page.get_by_role("button", name="Resume").is_visible()
    page.clock.run_for(120_000)
    assert (step_number(page), timer_seconds(page)) == (2, 27)
    # Unmistakable: the word, an icon, a colour of its own, and Resume is the button to press.
    assert "Paused" in page.get_by_role("timer").inner_text()
    assert page.get_by_role("dialog").get_attribute("data-paused") == ""
    icon, timer_bg, page_bg = page.evaluate("""[getComputedStyle(document.querySelector('.pl-unit'), '::before').content,
        getComputedStyle(document.querySelector('.pl-timer')).backgroundColor, getComputedStyle(document.body).backgroundColor]""")
    assert "❚❚" in icon and timer_bg != page_bg
    assert page.get_by_role("button", name="Resume").evaluate("(b) => b.classList.contains('is-ready')")
    assert page.evaluate("'playing' in document.documentElement.dataset"), "a paused routine is still in progress"
    page.get_by_role("button", name="Resume").click()
    page.clock.run_for(2000)
    assert (step_number(page), timer_seconds(page)) == (2, 25)
    assert_clean(b)


def test_still_cramping_adds_fifteen_seconds(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    start(page)
    begin(page)
    page.clock.run_for(10_000)
    assert (step_number(page), timer_seconds(page)) == (2, 20)
    page.get_by_role("button", name="Still cramping: +15 s").click()
    assert timer_seconds(page) == 35
    page.clock.run_for(34_000)
    assert (step_number(page), timer_seconds(page)) == (2, 1)
    page.clock.run_for(1000)
    assert step_number(page) == 3
    assert_clean(b)


def test_tap_to_continue_waits_for_next(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    page.get_by_text("Timing and voice settings").click()
    page.get_by_label("Wait for me to tap Next").check()
    start(page)
    assert step_number(page) == 1 and timer_seconds(page) is None
    assert "Tap Next" in page.get_by_role("timer").inner_text()
    page.clock.run_for(300_000)
    assert step_number(page) == 1
    page.get_by_role("button", name="Next").click()
    assert (step_number(page), timer_seconds(page)) == (2, 30)
    page.clock.run_for(31_000)
    assert (step_number(page), timer_seconds(page)) == (2, 0)
    assert "Time is up" in page.get_by_role("timer").inner_text()
    page.clock.run_for(300_000)
    assert step_number(page) == 2
    page.get_by_role("button", name="Back").click()
    assert step_number(page) == 1
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    assert step_number(page) == 3
    assert_clean(b)


def test_hold_time_setting_scales_and_survives_reload(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    page.get_by_text("Timing and voice settings").click()
    page.get_by_label("Hold times").select_option("2")
    start(page)
    begin(page)
    assert timer_seconds(page) == 60
    assert page.get_by_role("timer").inner_text().startswith("1:00")
    page.get_by_role("button", name="Next").click()
    assert timer_seconds(page) == 10, "untimed steps scale too"
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => !('playing' in document.documentElement.dataset)", timeout=5000)
    assert storage(page, "unknot-player")["factor"] == 2

    page.reload()
    page.wait_for_function(READY, timeout=5000)
    page.get_by_text("Timing and voice settings").click()
    assert page.get_by_label("Hold times").input_value() == "2"
    page.get_by_label("Hold times").select_option("10")
    start(page)
    page.get_by_role("button", name="Next").click()
    assert timer_seconds(page) == 300
    page.get_by_role("button", name="Stop").click()
    page.get_by_label("Hold times").select_option("0.5")
    start(page)
    page.get_by_role("button", name="Next").click()
    assert timer_seconds(page) == 15
    assert_clean(b)


def test_sleeping_tab_lands_on_the_right_step(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", scripts=[CUE_SPY])
    start(page)
    begin(page)
    # The lid closes for 60 s: timers fire at most once, then time is caught up.
    page.clock.fast_forward(60_000)
    # 30 + 5 = 35 s gone before step 4, a 30 s hold: 5 s of it left.
    assert (step_number(page), timer_seconds(page)) == (4, 5)
    assert page.evaluate("window.__tones") == 1, "one tone for the holds that ended while asleep"
    page.clock.fast_forward(20 * 60_000)
    expect_done(page)
    assert not page.evaluate("'playing' in document.documentElement.dataset")
    assert_clean(b)


def expect_done(page):
    # Fall safety: the player never walks onto a standing step by itself; tap Next there, as a person would.
    run_to_end(page)
    page.get_by_role("heading", name="Well done.").wait_for(timeout=5000)
    assert page.get_by_role("heading", name="Well done.").evaluate("(h) => document.activeElement === h")


# ---------- Cues ----------

def test_wake_lock_held_while_running_and_released(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", scripts=[WAKE_LOCK_SPY])
    start(page)
    page.wait_for_function(WAKE_ACTIVE + " === 1", timeout=5000)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function(WAKE_ACTIVE + " === 0", timeout=5000)
    page.get_by_role("button", name="Resume").click()
    page.wait_for_function(WAKE_ACTIVE + " === 1", timeout=5000)
    # The system drops the lock when the screen goes off; coming back takes it again.
    page.evaluate("window.__wake.sentinels.at(-1).release()")
    page.wait_for_function(WAKE_ACTIVE + " === 0", timeout=5000)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_function(WAKE_ACTIVE + " === 1", timeout=5000)
    assert page.evaluate("window.__wake.requests") == 3
    run_to_end(page)
    expect_done(page)
    page.wait_for_function(WAKE_ACTIVE + " === 0", timeout=5000)
    assert_clean(b)


def test_stop_and_escape_end_the_routine(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", scripts=[WAKE_LOCK_SPY])
    for leave in ("Stop", "Escape"):
        page.get_by_role("button", name="Start").focus()
        start(page)
        begin(page)
        page.wait_for_function(WAKE_ACTIVE + " === 1", timeout=5000)
        page.clock.run_for(3000)
        if leave == "Stop":
            page.get_by_role("button", name="Stop").click()
        else:
            page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="hidden", timeout=5000)
        page.wait_for_function("() => !('playing' in document.documentElement.dataset)", timeout=5000)
        page.wait_for_function(WAKE_ACTIVE + " === 0", timeout=5000)
        assert page.evaluate("document.activeElement.matches('.player-start')"), "focus goes back to Start"
        assert "Stopped at step 2 of 10" in page.locator(".pl-resume").inner_text()
        page.clock.run_for(60_000)  # nothing left ticking
        assert page.locator(".pl-resume").is_hidden(), "the offer to resume lasts ten seconds"
    start(page)
    assert (step_number(page), timer_seconds(page)) == (1, None), "a new start begins at the top"
    assert_clean(b)


def test_stop_asks_nothing_and_offers_resume(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", scripts=[WAKE_LOCK_SPY])
    start(page)
    begin(page)
    page.clock.run_for(10_000)
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("dialog").wait_for(state="hidden", timeout=5000)
    page.wait_for_function(WAKE_ACTIVE + " === 0", timeout=5000)
    offer = page.locator(".pl-resume")
    assert offer.get_attribute("role") == "status"
    assert offer.is_visible() and offer.evaluate("(o) => { const r = o.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")
    page.clock.run_for(9000)  # still there after nine seconds; time stood still for the stretch
    page.get_by_role("button", name="Resume").click()
    page.get_by_role("dialog").wait_for(timeout=5000)
    page.wait_for_function(WAKE_ACTIVE + " === 1", timeout=5000)
    assert (step_number(page), timer_seconds(page)) == (2, 20)
    page.clock.run_for(2000)
    assert (step_number(page), timer_seconds(page)) == (2, 18)
    assert offer.is_hidden()
    assert_clean(b)


def test_a_tone_at_each_hold_end_by_default(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", scripts=[CUE_SPY])
    start(page)
    assert page.evaluate("window.__contexts") == [True], "the audio starts from the Start tap (iOS)"
    begin(page)
    page.clock.run_for(29_000)
    assert page.evaluate("window.__tones") == 0
    page.clock.run_for(1000)  # the first hold ends
    assert page.evaluate("window.__tones") == 1
    page.clock.run_for(5000 + 30_000)  # an untimed step (no tone), then the second hold ends
    assert page.evaluate("window.__tones") == 2
    assert page.evaluate("window.__buzz") == [60] * 5, "steps 1 to 5"
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("dialog").wait_for(state="hidden", timeout=5000)
    page.get_by_text("Timing and voice settings").click()
    page.get_by_label("Vibrate at each step").uncheck()
    page.get_by_label("Soft tone when a hold ends").uncheck()
    page.evaluate("window.__buzz = []; window.__tones = 0")
    page.reload()  # remembered on the device
    page.wait_for_function(READY, timeout=5000)
    start(page)
    begin(page)
    page.clock.run_for(40_000)
    assert page.evaluate("window.__buzz") == []
    assert page.evaluate("window.__tones") == 0
    saved = storage(page, "unknot-player")
    assert (saved["vibrate"], saved["tone"]) == (False, False)
    assert_clean(b)


def test_first_step_of_the_bedtime_routine_waits_too(phone):
    b = phone()
    page = open_paused(b, "/routine/bedtime", scripts=[CUE_SPY])
    start(page)
    page.clock.run_for(600_000)
    assert step_number(page) == 1 and timer_seconds(page) is None
    assert page.evaluate("window.__tones") == 0
    begin(page)
    assert (step_number(page), timer_seconds(page)) == (2, 10)
    assert_clean(b)


def test_voice_speaks_each_step_when_on(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", scripts=[SPEECH_STUB])
    texts = page_steps(page)
    page.get_by_text("Timing and voice settings").click()
    page.get_by_label("Read each step aloud").check()
    start(page)
    run_to_end(page)
    expect_done(page)
    spoken = page.evaluate("window.__spoken")
    step_lines = [s.removeprefix("Hold done. ") for s in spoken if any(t in s for t in texts)]
    assert len(step_lines) == CALF_STEPS
    for text, line in zip(texts, step_lines):
        assert line.startswith(text)
    assert "Hold 30 seconds" in step_lines[1]
    assert spoken[2].startswith("Hold done. "), "the end of a hold is said first"
    assert storage(page, "unknot-player")["voice"] is True
    assert_clean(b)


def test_only_short_cues_by_default_and_none_when_off(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", scripts=[SPEECH_STUB])
    start(page)
    run_to_end(page)
    expect_done(page)
    assert set(page.evaluate("window.__spoken")) == {"Hold done. "}
    page.get_by_role("button", name="Close").click()
    page.get_by_text("Timing and voice settings").click()
    page.get_by_label("Say when a hold ends").uncheck()
    page.evaluate("window.__spoken = []")
    start(page)
    run_to_end(page)
    assert page.evaluate("window.__spoken") == []
    assert_clean(b)


def test_voice_silent_without_a_voice_for_the_language(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", scripts=[NO_VOICES, SPEECH_STUB])
    set_storage(page, "unknot-player", {"voice": True})
    page.reload()
    start(page)
    begin(page)
    page.clock.run_for(40_000)
    assert page.evaluate("window.__spoken") == []
    assert_clean(b)


def test_reduced_motion_has_no_animation(phone):
    b = phone(reduced_motion="reduce")
    page = open_paused(b, "/guide/calf")
    start(page)
    durations = page.evaluate("""[...document.querySelectorAll('dialog *')].map((el) => getComputedStyle(el))
        .flatMap((s) => [s.transitionDuration, s.animationDuration])""")
    assert set(durations) <= {"0s"}
    assert_clean(b)


# ---------- Keyboard, touch, checks, diary ----------

def press_until_focused(page, key, selector, limit=40):
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement?.matches(s)", selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{selector} never got the focus")


def test_keyboard_only_run_through(phone):
    b = phone(service_workers="block")  # the stand-in diary below must answer, not the real one
    page = open_paused(b, "/guide/calf")
    page.route("**/diary?from=player", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>Diary</title><h1>Diary</h1>"))
    press_until_focused(page, "Tab", ".player-start")
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for(timeout=5000)
    assert page.evaluate("document.activeElement.textContent") == "Next", "the first step waits for this key"
    page.keyboard.press("Space")
    assert step_number(page) == 2
    press_until_focused(page, "Tab", "[data-act=pause]")
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.textContent") == "Resume"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.textContent") == "Pause"
    press_until_focused(page, "Tab", "[data-act=next]")
    for expected in range(3, CALF_STEPS + 1):
        page.keyboard.press("Space")
        assert step_number(page) == expected
    page.keyboard.press("Enter")  # "Finish"
    expect_done(page)
    for check in ("long", "swollen", "breath"):
        press_until_focused(page, "Tab", f"input[name={check}][value=yes]")
        page.keyboard.press("Space")
        assert page.locator(f"#advice-{check}").is_visible()
    press_until_focused(page, "Tab", "#log-cramp")
    page.keyboard.press("Enter")
    page.wait_for_url("**/diary?from=player", timeout=5000)
    assert storage(page, "unknot-pending-cramp")["muscle"] == "calf"
    assert_clean(b)


def test_touch_targets(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    assert page.locator(".player-start").bounding_box()["height"] >= 64
    start(page)
    for button in page.get_by_role("dialog").get_by_role("button").all():
        box = button.bounding_box()
        assert box["height"] >= 48 and box["width"] >= 48, button.inner_text()
    for name in ("Pause", "Next", "Back", "Still cramping: +15 s"):
        assert page.get_by_role("button", name=name).bounding_box()["height"] >= 64
    # The controls sit at the bottom, in thumb reach.
    assert page.get_by_role("button", name="Pause").bounding_box()["y"] > 844 * 0.75
    assert_clean(b)


def test_start_is_on_the_first_screen(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    box = page.get_by_role("button", name="Start").bounding_box()
    assert box["y"] + box["height"] <= 844 - 56, "above the tab bar without scrolling"
    assert_clean(b)


def test_red_flag_answers_show_their_advice(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    for check in ("long", "swollen", "breath"):
        assert page.locator(f"#advice-{check}").is_hidden()
    page.locator("fieldset[data-check=breath]").get_by_label("Yes").check()
    emergency = page.locator("#advice-breath")
    assert emergency.is_visible()
    assert "Call your emergency number now" in emergency.inner_text()
    assert emergency.get_attribute("role") == "alert"
    assert page.locator("#advice-long").is_hidden() and page.locator("#advice-swollen").is_hidden()
    page.locator("fieldset[data-check=swollen]").get_by_label("Yes").check()
    assert "blood clot" in page.locator("#advice-swollen").inner_text()
    page.locator("fieldset[data-check=breath]").get_by_label("No").check()
    assert emergency.is_hidden()
    assert page.locator("#advice-swollen").is_visible()
    # Prominent: larger than body text, with a border.
    page.locator("fieldset[data-check=breath]").get_by_label("Yes").check()
    size, border = emergency.locator(".redflag").evaluate("(e) => [parseFloat(getComputedStyle(e).fontSize), getComputedStyle(e).borderTopWidth]")
    assert size > 18 and border == "3px"
    assert_clean(b)


def test_without_javascript_the_page_is_the_guide(phone):
    b = phone(java_script_enabled=False)
    page = b.open("/guide/calf")
    assert page.locator(".player-launch").is_hidden()
    assert page.locator("#routine li.step").count() == 6
    for check in ("long", "swollen", "breath"):
        assert page.locator(f"#advice-{check}").is_visible()
    assert page.get_by_role("link", name="Log this cramp").get_attribute("href") == "/diary?from=player"
    bedtime = b.open("/routine/bedtime")
    assert bedtime.locator(".player-launch").is_hidden()
    assert bedtime.locator(".stretch").count() == 4
    assert_clean(b)


def test_log_this_cramp_hands_the_cramp_to_the_diary(phone):
    b = phone(service_workers="block")  # the stand-in diary below must answer, not the real one
    page = open_paused(b, "/guide/foot")
    page.route("**/diary?from=player", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>Diary</title><h1>Diary</h1>"))
    started = NOON + timedelta(seconds=10)
    start(page)
    run_to_end(page)  # foot: (a tap) 30 + 5 + 30 + 30, after-care 30 + 5 + 5 + 5 = 140 s
    page.get_by_role("heading", name="Well done.").wait_for(timeout=5000)
    assert "2 min 20 s" in page.locator(".pl-done-text").inner_text()
    page.get_by_role("link", name="Log this cramp").click()
    page.wait_for_url("**/diary?from=player", timeout=5000)
    pending = storage(page, "unknot-pending-cramp")
    assert pending == {"at": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       "muscle": "foot", "side": None, "seconds": 140}
    assert_clean(b)


def test_night_hours_setting_dims_the_page(phone):
    b = phone()
    page = open_paused(b, "/guide/calf")
    assert page.evaluate("document.documentElement.dataset.theme") is None
    page.get_by_text("Timing and voice settings").click()
    assert page.get_by_label("From").input_value() == "21"
    page.get_by_label("From").select_option("11")
    page.get_by_label("until").select_option("13")
    assert storage(page, "unknot-night-hours") == [11, 13]
    assert page.evaluate("document.documentElement.dataset.theme") == "night"
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "night"
    page.get_by_text("Timing and voice settings").click()
    page.get_by_label("until").select_option("12")
    assert page.evaluate("document.documentElement.dataset.theme") is None
    assert_clean(b)


def test_guide_opens_dark_at_night_and_when_the_system_is_dark(phone):
    b = phone()
    page = open_paused(b, "/guide/calf", at=NIGHT)
    assert page.evaluate("document.documentElement.dataset.theme") == "night"
    dark = phone(color_scheme="dark")
    page = open_paused(dark, "/guide/hamstring")
    assert page.evaluate("document.documentElement.dataset.theme") == "night"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(14, 11, 9)"
    assert_clean(b)
    assert_clean(dark)


# ---------- Bedtime ----------

def run_bedtime(page, limit=80):
    """Run the routine on the fake clock; one (phase, kind, seconds) per step."""
    steps = []
    for _ in range(limit):
        if page.get_by_role("heading", name="Routine done. Sleep well.").is_visible():
            return steps
        seconds = timer_seconds(page)
        if seconds is None or "Time is up" in page.get_by_role("timer").inner_text():
            # The first step, and the one before standing up, wait for a tap.
            if seconds is None:
                steps.append((page.locator(".pl-phase").inner_text(), page.get_by_role("dialog").get_attribute("data-kind"), 0))
            page.get_by_role("button", name="Next").click()
            continue
        steps.append((page.locator(".pl-phase").inner_text(), page.get_by_role("dialog").get_attribute("data-kind"), seconds))
        page.clock.run_for(seconds * 1000)
    raise AssertionError("the routine did not finish")


def test_bedtime_routine_three_holds_per_stretch_per_leg(phone):
    b = phone()
    page = open_paused(b, "/routine/bedtime")
    start(page)
    steps = run_bedtime(page)
    holds = [s for s in steps if s[1] == "hold"]
    assert len(holds) == 2 * 2 * 3 and {s[2] for s in holds} == {10}
    assert {s[2] for s in steps if s[1] == "rest"} == {10}
    for stretch in ("Wall calf stretch", "Standing hamstring stretch"):
        for leg in ("Left leg", "Right leg"):
            mine = [s for s in steps if s[0].startswith(f"{stretch} · {leg}")]
            assert [s[1] for s in mine] == ["setup", "hold", "rest", "hold", "rest", "hold"]
    order = [s[0] for s in steps if s[1] == "setup"]
    assert order == ["Wall calf stretch · Left leg", "Wall calf stretch · Right leg",
                     "Standing hamstring stretch · Left leg", "Standing hamstring stretch · Right leg"]
    assert 150 <= sum(s[2] for s in steps) <= 240, "about three minutes"
    nights = storage(page, "unknot-routines")
    assert nights == [(NOON + timedelta(seconds=10 + sum(s[2] for s in steps))).isoformat(timespec="milliseconds").replace("+00:00", "Z")]
    assert not page.evaluate("'playing' in document.documentElement.dataset")
    assert_clean(b)


def test_bedtime_seated_and_long_hold_options(phone):
    b = phone()
    page = open_paused(b, "/routine/bedtime")
    set_storage(page, "unknot-routines", [f"2025-01-01T21:{i % 60:02d}:00.000Z" for i in range(400)])
    page.get_by_role("radio", name="Seated").check()
    page.get_by_label("One 30-second hold").check()
    start(page)
    steps = run_bedtime(page)
    assert [s[1] for s in steps] == ["setup", "hold"] * 4
    assert {s[2] for s in steps if s[1] == "hold"} == {30}
    assert steps[0][0] == "Seated calf stretch · Left leg"
    assert steps[-1][0] == "Seated hamstring stretch · Right leg"
    nights = storage(page, "unknot-routines")
    assert len(nights) == 400 and nights[-1].startswith("2026-03-02T12:0")
    page.get_by_role("button", name="Close").click()
    page.reload()
    assert page.get_by_role("radio", name="Seated").is_checked() and page.get_by_label("One 30-second hold").is_checked()
    assert_clean(b)


def test_bedtime_setup_step_lists_the_position(phone):
    b = phone()
    page = open_paused(b, "/routine/bedtime", scripts=[SPEECH_STUB])
    set_storage(page, "unknot-player", {"voice": True})
    page.reload()
    start(page)
    assert page.locator(".pl-text li").count() == 4
    assert page.evaluate("window.__spoken")[0].startswith("Left leg. Stand facing a wall")
    assert page.get_by_role("button", name="Hold longer: +15 s").is_visible()
    assert_clean(b)


# ---------- Offline ----------

def test_offline_with_the_server_stopped(phone, live_server):
    b = phone()
    page = b.open("/guide/calf")
    # Bounded, unlike awaiting navigator.serviceWorker.ready.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    live_server.stop()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append((m.text, m.location["url"])))
    try:
        page.clock.install(time=NIGHT)
        page.reload()
        page.clock.pause_at(NIGHT + timedelta(seconds=10))
        page.wait_for_function(READY, timeout=5000)
        assert page.evaluate("document.documentElement.dataset.theme") == "night"
        start(page)
        run_to_end(page)
        expect_done(page)
        b.open("/routine/bedtime", page=page)
        page.wait_for_function(READY, timeout=5000)
        start(page)
        assert len(run_bedtime(page)) == 24
    finally:
        live_server.start()
    assert errors == []
    assert len(b.console_errors) == len(errors)
    assert b.foreign_requests == []


# ---------- Accessibility and looks ----------

def axe_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    page.clock.resume()  # axe waits on timers of its own
    page.wait_for_function("() => document.getAnimations().length === 0", timeout=5000)  # colours at rest
    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]


@pytest.mark.parametrize("theme", ["light", "dark", "night"])
@pytest.mark.parametrize("path", ["/guide/calf", "/routine/bedtime"])
def test_axe_finds_nothing(phone, path, theme):
    b = phone(color_scheme="dark" if theme == "night" else "light")
    page = open_paused(b, path)
    if theme == "dark":
        page.evaluate("document.documentElement.dataset.theme = 'dark'")
    assert page.evaluate("document.documentElement.dataset.theme") == (None if theme == "light" else theme)
    page.get_by_text("Timing and voice settings").click()
    assert axe_violations(page) == []
    start(page)
    assert axe_violations(page) == [], "waiting for the first tap"
    begin(page)
    page.clock.run_for(6000)
    assert axe_violations(page) == [], "running"
    page.get_by_role("button", name="Pause").click()
    assert axe_violations(page) == [], "paused"
    page.clock.run_for(1000)
    page.get_by_role("button", name="Resume").click()
    run_to_end(page)
    if path == "/guide/calf":
        page.locator("fieldset[data-check=breath]").get_by_label("Yes").check()
    assert axe_violations(page) == [], "done"
    assert_clean(b)


@pytest.mark.parametrize("scheme", ["light", "dark", "night"])
def test_player_screenshots(phone, output_dir, scheme):
    """Mid-stretch at 390 × 844, saved for a human (and a model) to look at."""
    b = phone(color_scheme="light" if scheme == "light" else "dark", reduced_motion="reduce")
    shots = []

    def shot(page, name, **options):
        path = output_dir / f"{name}-{scheme}.png"
        (options.pop("element", None) or page).screenshot(path=path, **options)
        shots.append(path)

    def open_in_theme(path):
        page = open_paused(b, path, at=NOON if scheme == "light" else NIGHT)
        if scheme == "dark":
            page.evaluate("document.documentElement.dataset.theme = 'dark'")
        return page

    page = open_in_theme("/guide/calf")
    shot(page, "calf-page")
    page.get_by_text("Timing and voice settings").click()
    shot(page, "calf-settings", element=page.locator("#player"))
    start(page)
    shot(page, "calf-first-step")
    begin(page)
    page.clock.run_for(8_000)
    shot(page, "calf-hold")
    page.get_by_role("button", name="Pause").click()
    shot(page, "calf-paused")
    page.get_by_role("button", name="Resume").click()
    run_to_end(page)
    shot(page, "calf-done")
    page.locator("fieldset[data-check=breath]").get_by_label("Yes").check()
    page.locator("#log-cramp").scroll_into_view_if_needed()
    shot(page, "calf-done-emergency")

    bed = open_in_theme("/routine/bedtime")
    shot(bed, "bedtime-page")
    start(bed)
    shot(bed, "bedtime-setup")
    begin(bed)
    bed.clock.run_for(3_000)
    shot(bed, "bedtime-hold")
    run_to_end(bed)
    shot(bed, "bedtime-done")
    assert all(p.stat().st_size > 10_000 for p in shots)
    assert_clean(b)


def test_cramp_now_opens_the_calf_guide_with_start_focused(phone):
    b = phone()
    page = b.open("/")
    page.get_by_role("link", name=re.compile("^Calf")).click()
    page.wait_for_url("**/guide/calf?source=now", timeout=5000)
    page.wait_for_function(READY, timeout=5000)
    assert page.evaluate("document.activeElement.matches('.player-start')")
    box = page.get_by_role("button", name="Start").bounding_box()
    assert box["height"] >= 64 and box["y"] + box["height"] <= 844 - 56
    b.open("/", page=page)
    assert page.locator(".hero .lead").inner_text() == "Pick where it hurts, then tap Start."
    assert_clean(b)
