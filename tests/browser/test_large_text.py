"""Reflow and large text (WCAG 2.2 1.4.4 and 1.4.10) in real Chromium.

Every page and every player state at 320 × 640 and 390 × 844 with the root
font size at 200 % (close to a phone's largest text setting), in the light,
dark and night themes: nothing scrolls sideways, every control is on screen,
at least 44 × 44 px, no two overlap, nothing covers them or the step text,
and the player's Stop, Pause and Next need no scrolling. axe finds nothing
at 320 px (every page; the player states where no timer runs).
"""
from datetime import UTC, datetime, timedelta

import pytest

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NIGHT = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
PAGES = ["/", "/guide/calf", "/guide/foot", "/guide/hamstring", "/guide/quadriceps", "/routine/bedtime",
         "/prevent", "/seek-care", "/cramps", "/about", "/reminders", "/diary"]
LARGE_TEXT = "document.addEventListener('DOMContentLoaded', () => { document.documentElement.style.fontSize = '200%'; });"
READY = "() => document.getElementById('player').classList.contains('is-ready')"
SIZES = {"320": {"width": 320, "height": 640}, "390": {"width": 390, "height": 844}}
THEMES = {"light": ("light", NOON), "dark": ("dark", NOON), "night": ("light", NIGHT)}

# One pass over what is on screen; returns the problems found, in words.
CHECK = """
({ player }) => {
  const problems = [];
  const vw = innerWidth, vh = innerHeight;
  const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : ""} "${(el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 30)}"`;
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && el.checkVisibility({ visibilityProperty: true }) && !el.closest(".visually-hidden, .skip");
  };
  const scope = document.querySelector("dialog[open]") || document.body;
  if (document.documentElement.scrollWidth > vw) problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
  for (const el of scope.querySelectorAll("*")) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 || r.left < -1) problems.push(`${name(el)} reaches outside the screen (${Math.round(r.left)}..${Math.round(r.right)})`);
  }
  const controls = [...scope.querySelectorAll(
    "button, summary, select, input:not([type=hidden]), a.cta, a.muscle, a.card, a.button, .other-muscles a, .tabs a")].filter(shown);
  for (const el of controls) {
    const r = el.getBoundingClientRect();
    if (r.width < 44 || r.height < 44) problems.push(`${name(el)} is ${Math.round(r.width)}×${Math.round(r.height)}`);
    if (el.scrollWidth > el.clientWidth + 1 && !["INPUT", "SELECT"].includes(el.tagName)) problems.push(`${name(el)} clips its label`);
  }
  const boxes = controls.map((el) => [el, el.getBoundingClientRect()]);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (a.contains(b) || b.contains(a) || a.closest("label")?.contains(b) || b.closest("label")?.contains(a)) continue;
      if (!a.closest(".tabs") !== !b.closest(".tabs")) continue; // content scrolls under the fixed bar: SCROLL_CHECK
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 1 && h > 1) problems.push(`${name(a)} overlaps ${name(b)}`);
    }
  }
  const tabs = document.querySelector(".tabs");
  if (tabs && !player) {
    const bar = tabs.getBoundingClientRect().height;
    const pad = parseFloat(getComputedStyle(document.body).paddingBottom);
    if (pad < bar) problems.push(`the tab bar (${bar}px) is taller than the room kept for it (${pad}px)`);
    for (const a of tabs.querySelectorAll("a")) {
      if (a.scrollHeight > a.clientHeight + 1 || a.scrollWidth > a.clientWidth + 1) problems.push(`tab ${name(a)} clips its label`);
    }
  }
  const hit = (el, x, y) => { const top = document.elementFromPoint(x, y); return top && (top === el || el.contains(top) || top.closest("label")?.contains(el)); };
  if (player) {
    const dialog = document.querySelector("dialog[open]");
    for (const label of ["Stop", "Pause", "Resume", "Next", "Finish", "Back"]) {
      const button = [...dialog.querySelectorAll("button")].find((b) => b.textContent.trim() === label && shown(b));
      if (!button) continue;
      const r = button.getBoundingClientRect();
      if (r.top < 0 || r.bottom > vh || r.left < 0 || r.right > vw) problems.push(`${label} is not fully on screen`);
      else if (!hit(button, r.left + r.width / 2, r.top + r.height / 2)) problems.push(`${label} is covered`);
    }
    const text = dialog.querySelector(".pl-text");
    if (text && shown(text)) {
      const stage = text.closest(".pl-stage").getBoundingClientRect();
      const r = text.getBoundingClientRect();
      const top = Math.max(r.top, stage.top), bottom = Math.min(r.bottom, stage.bottom);
      const line = parseFloat(getComputedStyle(text.firstElementChild).lineHeight);
      if (bottom - top < Math.min(r.height, 2 * line) - 1) problems.push(`only ${Math.round(bottom - top)}px of the step text shows`);
      else if (!hit(text, r.left + r.width / 2, (top + bottom) / 2)) problems.push("the step text is covered");
    }
  }
  return problems;
}
"""
# Page content may be scrolled to: each control, scrolled into view, must
# fit and not be hidden by the tab bar or anything else.
SCROLL_CHECK = """
() => {
  const problems = [];
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && el.checkVisibility({ visibilityProperty: true }) && !el.closest(".visually-hidden, .skip, .tabs"); };
  for (const el of document.querySelectorAll("button, summary, select, input:not([type=hidden]), a")) {
    if (!shown(el)) continue;
    el.scrollIntoView({ block: "center", inline: "nearest" });
    let r = el.getClientRects()[0]; // a link's first line
    if (r.top < 0) { scrollBy(0, r.top - innerHeight / 3); r = el.getClientRects()[0]; } // a link longer than the screen
    const label = `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}"`;
    if (r.height > innerHeight && el.tagName !== "A") { problems.push(`${label} is taller than the screen`); continue; }
    const x = r.left + Math.min(r.width / 2, 5), y = r.top + Math.min(r.height / 2, 20);
    const top = document.elementFromPoint(x, y);
    if (!top || !(top === el || el.contains(top) || top.closest("label")?.contains(el) || el.closest("label")?.contains(top))) {
      problems.push(`${label} is covered by ${top && top.tagName.toLowerCase()}.${top && top.className}`);
    }
  }
  scrollTo(0, 0);
  return problems;
}
"""


@pytest.fixture
def large(launch_browser, live_server):
    def launch(size, theme):
        scheme, at = THEMES[theme]
        b = launch_browser(live_server.url, color_scheme=scheme, timezone_id="UTC", reduced_motion="reduce")
        b.at = at
        b.size = SIZES[size]
        b.context.add_init_script(LARGE_TEXT)
        return b
    return launch


def fresh_page(b, path):
    """A page at `path` on a fake clock at the theme's hour, then paused."""
    page = b.context.new_page()
    page.set_viewport_size(b.size)
    page.clock.install(time=b.at)
    b.open(path, page=page)
    page.clock.pause_at(b.at + timedelta(seconds=10))
    page.wait_for_function("() => document.documentElement.style.fontSize === '200%'", timeout=5000)
    return page


def axe_problems(page, where):
    """axe on what is on screen; the fake clock runs meanwhile (axe waits on timers), then stops again."""
    from axe_playwright_python.sync_playwright import Axe

    page.clock.resume()
    page.wait_for_function("() => document.getAnimations().length === 0", timeout=5000)
    found = [f"{where}: axe {v['id']} {[n['target'] for n in v['nodes']]}" for v in Axe().run(page).response["violations"]]
    page.clock.pause_at(datetime.fromtimestamp(page.evaluate("Date.now()") / 1000 + 1, UTC))
    return found


def problems(page, where, player=False):
    found = page.evaluate(CHECK, {"player": player})
    if not player:
        found += page.evaluate(SCROLL_CHECK)
    return [f"{where}: {p}" for p in found]


def player_states(page, path):
    """Walk the player through each state; yield (state, is_player)."""
    page.wait_for_function(READY, timeout=5000)
    yield "ready", False
    page.get_by_role("button", name="Start").click()
    page.get_by_role("dialog").wait_for(timeout=5000)
    yield "first step waiting", True
    page.get_by_role("button", name="Next").click()
    if path == "/routine/bedtime":
        page.clock.run_for(4000)
        yield "mid-hold", True
        page.get_by_role("button", name="Pause").click()
        yield "paused", True
        page.get_by_role("button", name="Resume").click()
        page.clock.run_for(7000)  # into the rest between holds
        assert page.get_by_role("dialog").get_attribute("data-kind") == "rest"
        yield "between steps", True
    else:
        page.clock.run_for(10_000)
        yield "mid-hold", True
        page.get_by_role("button", name="Pause").click()
        yield "paused", True
        page.get_by_role("button", name="Resume").click()
        page.clock.run_for(21_000)  # the hold is over: the next, untimed step counts down
        yield "between steps", True
    for _ in range(40):  # to the end, a tap at a time
        if page.locator(".pl-done-title").is_visible():
            break
        page.locator("[data-act=next]").click()
    page.locator(".pl-done-title").wait_for(timeout=5000)
    yield "after-care", True
    page.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("button", name="Resume").wait_for(timeout=5000)
    yield "stopped, resume offered", False


@pytest.mark.parametrize("theme", ["light", "dark", "night"])
@pytest.mark.parametrize("size", ["320", "390"])
def test_every_page_reflows_at_200_percent(large, size, theme):
    b = large(size, theme)
    found = []
    for path in PAGES:
        page = fresh_page(b, path)
        expected = "night" if theme == "night" else None
        if expected:
            assert page.evaluate("document.documentElement.dataset.theme") == expected, path
        found += problems(page, path)
        if size == "320":
            found += axe_problems(page, path)
        page.close()
    assert found == [], "\n".join(found)
    assert b.console_errors == [] and b.foreign_requests == []


@pytest.mark.parametrize("theme", ["light", "dark", "night"])
@pytest.mark.parametrize("size", ["320", "390"])
@pytest.mark.parametrize("path", ["/guide/calf", "/routine/bedtime"])
def test_every_player_state_reflows_at_200_percent(large, path, size, theme, output_dir):
    b = large(size, theme)
    page = fresh_page(b, path)
    found = []
    seen = []
    for state, player in player_states(page, path):
        seen.append(state)
        found += problems(page, f"{path} {state}", player=player)
        if size == "320" and state in ("first step waiting", "paused", "stopped, resume offered"):  # no timer running
            found += axe_problems(page, f"{path} {state}")
        page.screenshot(path=output_dir / f"{state.split(',')[0].replace(' ', '-')}.png")
    assert len(seen) == 7
    assert found == [], "\n".join(found)
    assert b.console_errors == [] and b.foreign_requests == []
