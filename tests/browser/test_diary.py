"""The cramp diary in real Chromium: everything on the device (IndexedDB),
offline, trends whose numbers match the entries, red flags, CSV round trip,
the printed summary, schema upgrades, the player hand-off, accessibility."""
import base64
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

TZ = "Europe/Berlin"
ZONE = ZoneInfo(TZ)
REFUSED = "net::ERR_CONNECTION_REFUSED"

STORE = "import(document.getElementById('diary').dataset.store)"
SEED = f"""async ({{ entries, water, routines }}) => {{
  const store = await {STORE};
  for (const entry of entries || []) await store.putEntry(entry);
  for (const [day, glasses] of water || []) await store.putWater(day, glasses);
  if (routines) localStorage.setItem('unknot-routines', JSON.stringify(routines));
}}"""
ALL_ENTRIES = f"{STORE}.then(store => store.allEntries())"

# A month of realistic entries, made in the page (local time), for the look.
MONTH = """async () => {
  const store = await import(document.getElementById('diary').dataset.store);
  const muscles = ['calf', 'calf', 'calf', 'foot', 'hamstring', 'calf'];
  const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  const routines = [];
  for (let i = 1; i <= 30; i++) {
    const d = new Date(); d.setDate(d.getDate() - i);
    if (i % 3 !== 1) { const r = new Date(d); r.setHours(21, 40, 0, 0); routines.push(r.toISOString()); }
    await store.putWater(day(d), 4 + (i * 7) % 5);
    if (i % 7 === 2 || i % 5 === 0 || i % 11 === 3) {
      const at = new Date(d); at.setDate(at.getDate() + 1); at.setHours([2, 3, 1, 4, 23][i % 5], (i * 13) % 60, 0, 0);
      if (at.getHours() === 23) at.setDate(at.getDate() - 1);
      await store.putEntry({ id: `m${i}`, at: at.toISOString(), muscle: muscles[i % 6], side: ['left', 'right', 'left', 'both'][i % 4],
        severity: 3 + (i * 5) % 7, seconds: 40 + (i * 47) % 240, woke: i % 3 !== 0, activity: i % 4 ? 'asleep' : 'resting',
        triggers: i % 6 === 0 ? ['exercise'] : i % 5 === 0 ? ['water', 'still'] : [], symptoms: [],
        note: i === 10 ? 'Long walk in the hills the day before.' : '' });
    }
  }
  localStorage.setItem('unknot-routines', JSON.stringify(routines.sort()));
}"""


def open_diary(browser, path="/diary"):
    page = browser.open(path)
    page.set_default_timeout(10000)
    page.locator("#app").wait_for(state="visible")
    return page


def reload_diary(page):
    page.reload()
    page.locator("#app").wait_for(state="visible")


def entry_texts(page):
    return page.locator("#entry-list > li").all_inner_texts()


def assert_clean(browser, allow_refused=False):
    errors = [e for e in browser.console_errors if not (allow_refused and REFUSED in e)]
    assert errors == []
    assert browser.foreign_requests == []


def tables(page):
    """Every table on the page as {caption: [[cell, …], …]} (header row first)."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#app table')].map(t =>
        [t.caption.textContent, [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim()))]))""")


# ---- time in the browser's zone, worked out here independently ----

def night_of(moment):
    return (moment - timedelta(hours=12)).date()


def week_monday():
    night = night_of(datetime.now(ZONE))
    return night - timedelta(days=night.weekday())


def local(day, hour, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def berlin(launch_browser, live_server):
    return launch_browser(live_server.url, timezone_id=TZ)


# ---------------------------------------------------------------------------


# On screen, and not under the tab bar.
IN_VIEW = """(el) => { const r = el.getBoundingClientRect(), tabs = document.querySelector('.tabs').getBoundingClientRect();
    return r.top >= 0 && r.bottom <= tabs.top; }"""


def assert_opened_in_view(page):
    """A form just opened: its first field has the focus, in view above the tab bar."""
    assert page.evaluate("document.activeElement.id") == "f-at"
    assert page.locator("#f-at").evaluate(IN_VIEW)
    assert page.locator("#form-h").evaluate("(h) => h.getBoundingClientRect().top >= 0")


def test_log_offline_and_keep_across_reloads(launch_browser, live_server):
    browser = launch_browser(live_server.url)
    browser.context.add_init_script("""
      if (navigator.storage) {
        window.__persistCalls = 0;
        const persist = navigator.storage.persist.bind(navigator.storage);
        navigator.storage.persist = () => { window.__persistCalls++; return persist(); };
      }""")
    page = open_diary(browser)
    browser.wait_for_worker(page)
    live_server.stop()
    reload_diary(page)
    assert page.evaluate("navigator.serviceWorker.controller !== null")

    page.get_by_role("button", name="I had a cramp last night").click()
    page.locator("#status").get_by_text("Logged a cramp last night").wait_for()
    assert len(entry_texts(page)) == 1
    assert entry_texts(page)[0].startswith("Night of")

    page.get_by_role("button", name="Log one with details").click()
    form = page.locator("#entry-form")
    form.wait_for(state="visible")
    assert_opened_in_view(page)
    assert form.get_by_role("button", name="Delete this cramp").is_hidden()  # nothing to delete yet
    page.fill("#f-at", "2026-01-14T03:10")
    form.get_by_label("Foot").check()
    form.get_by_label("Right").check()
    form.get_by_label("minutes").fill("2")
    form.get_by_label("seconds").fill("30")
    form.locator("input[name=severity][value='6']").check()
    form.get_by_label("It woke me up").check()
    page.select_option("#f-activity", "asleep")
    form.get_by_label("Little water").check()
    page.fill("#f-note", "After a hot day.")
    form.get_by_role("button", name="Save").click()
    form.wait_for(state="hidden")
    page.locator("#status").get_by_text("Cramp saved.").wait_for()
    assert page.locator("#status").evaluate(IN_VIEW), "the confirmation shows where the person is looking"
    assert len(entry_texts(page)) == 2
    assert page.evaluate("window.__persistCalls") == 1  # asked once, after the first entry

    reload_diary(page)
    texts = entry_texts(page)
    assert len(texts) == 2
    detailed = next(t for t in texts if "Foot" in t)
    for part in ("Foot", "right side", "2 min 30 s", "pain 6/10", "woke me", "little water", "After a hot day."):
        assert part in detailed
    stored = page.evaluate(ALL_ENTRIES)
    assert {e["muscle"] for e in stored} == {"", "foot"}
    assert [e for e in stored if e["muscle"] == "foot"][0]["seconds"] == 150
    assert_clean(browser, allow_refused=True)


def test_edit_and_delete(browser):
    page = open_diary(browser)
    days_ago = lambda n: (datetime.now(ZONE) - timedelta(days=n)).isoformat()  # noqa: E731
    page.evaluate(SEED, {"entries": [
        {"id": "a", "at": days_ago(5), "muscle": "calf", "severity": 3, "note": "first"},
        {"id": "b", "at": days_ago(3), "muscle": "hamstring", "severity": 5, "note": "second"},
    ]})
    reload_diary(page)
    assert len(entry_texts(page)) == 2

    item = page.locator("#entry-list > li").filter(has_text="first")
    item.get_by_role("button", name=re.compile("^Edit")).click()
    form = page.locator("#entry-form")
    form.wait_for(state="visible")
    assert form.locator("input[name=muscle][value=calf]").is_checked()
    assert page.input_value("#f-note") == "first"
    form.get_by_label("Quadriceps").check()
    form.get_by_label("Swelling").check()
    page.fill("#f-note", "first, edited")
    form.get_by_role("button", name="Save").click()
    page.locator("#status").get_by_text("Changes saved.").wait_for()
    edited = page.locator("#entry-list > li").filter(has_text="first, edited")
    assert "Quadriceps" in edited.inner_text() and "swelling" in edited.inner_text()
    assert len(entry_texts(page)) == 2
    # Swelling is a red flag: its card appears at once, pointing to urgent help.
    flag = page.locator(".flag-swelling")
    assert flag.is_visible()
    assert flag.get_by_role("link", name="When to get help").get_attribute("href") == "/seek-care#urgent"

    # Delete (from the entry's form) asks first; "Cancel" keeps it.
    second = page.locator("#entry-list > li").filter(has_text="second")
    second.get_by_role("button", name=re.compile("^Edit")).click()
    form.get_by_role("button", name="Delete this cramp").click()
    page.locator("#confirm").get_by_role("button", name="Cancel").click()
    assert len(entry_texts(page)) == 2
    form.get_by_role("button", name="Delete this cramp").click()
    page.locator("#confirm").get_by_role("button", name="Delete").click()
    form.wait_for(state="hidden")
    page.locator("#status").get_by_text("Entry deleted.").wait_for()
    reload_diary(page)
    texts = entry_texts(page)
    assert len(texts) == 1 and "first, edited" in texts[0]
    assert [e["id"] for e in page.evaluate(ALL_ENTRIES)] == ["a"]
    assert_clean(browser)


def test_player_hand_off_prefills_the_form(browser):
    page = open_diary(browser)
    at = "2026-03-01T02:14:00.000Z"
    page.evaluate("p => localStorage.setItem('unknot-pending-cramp', JSON.stringify(p))",
                  {"at": at, "muscle": "calf", "side": None, "seconds": 95})
    page = open_diary(browser, "/diary?from=player")
    form = page.locator("#entry-form")
    form.wait_for(state="visible")
    expected = page.evaluate("""at => { const d = new Date(at), p = n => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; }""", at)
    assert page.input_value("#f-at") == expected
    assert form.locator("input[name=muscle][value=calf]").is_checked()
    assert form.get_by_label("minutes").input_value() == "1"
    assert form.get_by_label("seconds").input_value() == "35"
    assert "from your stretch" in page.locator("#form-note").inner_text()
    assert_opened_in_view(page)
    # Saved at once (nothing is lost if the person goes back to sleep) …
    assert len(entry_texts(page)) == 1
    assert page.evaluate("localStorage.getItem('unknot-pending-cramp')") is None
    assert page.evaluate("location.search") == ""
    # … and the details are added to that same entry.
    form.get_by_label("Left").check()
    form.locator("input[name=severity][value='7']").check()
    form.get_by_role("button", name="Save").click()
    page.locator("#status").get_by_text("Changes saved.").wait_for()
    reload_diary(page)
    [text] = entry_texts(page)
    assert "Calf · left side · 1 min 35 s · pain 7/10" in text
    assert_clean(browser)


def test_trend_tables_match_the_entries(launch_browser, live_server):
    browser = berlin(launch_browser, live_server)
    monday = week_monday()
    week = lambda ago, weekday: monday - timedelta(weeks=ago) + timedelta(days=weekday)  # noqa: E731
    cramps = [  # (id, start, severity)
        ("w4", local(week(4, 1), 22), 4),
        ("w3a", local(week(3, 1), 22), 6),
        ("w3b", local(week(3, 2), 3, 30), 8),  # before noon: the same night as w3a
        ("w2a", local(week(2, 0), 23), 2),
        ("w2b", local(week(2, 2), 22, 30), 5),
        ("w2c", local(week(2, 4), 4), 8),  # Friday 04:00 is Thursday's night
    ]
    routines = [local(week(2, 0), 21, 30), local(week(2, 1), 21, 30)]
    water = [(week(3, 0).isoformat(), 6), (week(3, 1).isoformat(), 8)]
    page = open_diary(browser)
    page.evaluate(SEED, {
        "entries": [{"id": i, "at": at.isoformat(), "muscle": "calf", "severity": s} for i, at, s in cramps],
        "water": water,
        "routines": [r.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z") for r in routines],
    })
    reload_diary(page)
    for summary in page.locator("details.numbers summary").all():
        summary.click()
    found = tables(page)

    weekly = found["Week by week"]
    assert weekly[0] == ["Week of", "Cramps", "Cramp nights", "Severity", "Routine nights", "Glasses a day"]
    rows = weekly[1:]  # from the week the diary began (4 weeks ago) to this one
    assert len(rows) == 5
    assert [r[1] for r in rows] == ["1", "2", "3", "0", "0"]
    assert [r[2] for r in rows] == ["1", "1", "3", "0", "0"]
    assert [r[3] for r in rows] == ["4", "7", "5", "–", "–"]
    assert [r[4] for r in rows] == ["0", "0", "2", "0", "0"]
    assert [r[5] for r in rows] == ["–", "7", "–", "–", "–"]

    hours = dict(found["Cramps by time of day"][1:])
    assert hours == {"18:00–21:00": "0", "21:00–00:00": "4", "00:00–03:00": "0", "03:00–06:00": "2",
                     "06:00–09:00": "0", "09:00–12:00": "0", "12:00–15:00": "0", "15:00–18:00": "0"}

    last_night = night_of(datetime.now(ZONE) - timedelta(hours=12))
    nights = (last_night - week(4, 1)).days + 1
    routine = {r[0]: r[1:] for r in found["Nights with a cramp"][1:]}
    assert routine["After the bedtime routine"] == ["2", "1", "50%"]
    assert routine["Other nights"][:2] == [str(nights - 2), "4"]

    # The pictures say the same: one bar per week with cramps, in the right places.
    chart = page.locator("svg.chart").first
    assert chart.locator("rect.col").count() == 3
    assert chart.locator("desc").text_content().endswith(": 1, 2, 3, 0, 0.")
    assert chart.get_attribute("role") == "img"
    assert "6 cramps on 5 nights" in page.locator(".trend-total").inner_text()
    assert_clean(browser)


def crafted_csv(rows):
    head = "record,id,time,muscle,side,severity,seconds,woke,activity,triggers,symptoms,note,approximate,glasses,updated"
    lines = [head] + [f"cramp,{i},{at.isoformat()},calf,left,5,{sec},yes,asleep,{trig},{sym},,no,," for i, at, sec, trig, sym in rows]
    return "\r\n".join(lines) + "\r\n"


def test_red_flags_for_a_worrying_history_not_for_a_calm_one(launch_browser, live_server, tmp_path):
    browser = berlin(launch_browser, live_server)
    monday = week_monday()
    day = lambda ago, weekday: monday - timedelta(weeks=ago) + timedelta(days=weekday)  # noqa: E731

    # Calm: a cramp a week, short, nothing else noticed.
    page = open_diary(browser)
    page.evaluate(SEED, {"entries": [
        {"id": f"c{w}", "at": local(day(w, 2), 3).isoformat(), "muscle": "calf", "seconds": 60} for w in range(1, 7)]})
    reload_diary(page)
    assert len(entry_texts(page)) == 5  # the latest five, then "Show all"
    page.get_by_role("button", name="Show all 6 entries").click()
    assert len(entry_texts(page)) == 6
    assert page.locator("#flags").is_hidden()
    assert page.locator(".flag").count() == 0

    # Worrying, imported from a crafted CSV: three nights a week for two weeks,
    # one cramp of 12 minutes, one with swelling and a new medicine.
    rows = [(f"f{w}{d}", local(day(w, d), 2), 90, "", "") for w in (2, 3) for d in (0, 2, 4)]
    rows += [("long", local(day(5, 1), 1), 720, "", ""), ("swell", local(day(6, 3), 4), 120, "medicine", "swelling;weakness")]
    path = tmp_path / "crafted.csv"
    path.write_text(crafted_csv(rows), encoding="utf-8")
    page.set_input_files("#import-file", str(path))
    page.locator("#data-status").get_by_text("Imported: 8 new").wait_for()
    cards = page.locator(".flag")
    assert page.locator("#flags").is_visible()
    kinds = page.evaluate("[...document.querySelectorAll('.flag')].map(f => f.className.replace('flag flag-', ''))")
    assert kinds == ["swelling", "long", "frequent", "weakness", "medicine"], "most urgent first"
    frequent = cards.filter(has_text="3 or more nights a week")
    assert "on 3 nights in the week to" in frequent.inner_text()
    assert "12 min" in cards.filter(has_text="over 10 minutes").inner_text()
    for i in range(cards.count()):
        assert cards.nth(i).get_by_role("link", name="When to get help").get_attribute("href").startswith("/seek-care")
    assert "To discuss" in page.locator("#facts").inner_text()
    assert_clean(browser)


def test_csv_export_round_trips_without_duplicates(launch_browser, live_server, tmp_path):
    browser = launch_browser(live_server.url)
    page = open_diary(browser)
    tricky = 'He said "ouch", twice,\nthen slept.'
    page.evaluate(SEED, {
        "entries": [
            {"id": "x1", "at": "2026-02-10T01:30:00Z", "muscle": "calf", "side": "both", "severity": 9, "seconds": 640,
             "woke": True, "activity": "asleep", "triggers": ["heat", "still"], "symptoms": ["weakness"], "note": tricky},
            {"id": "x2", "at": "2026-02-12T21:05:00Z", "muscle": "foot", "note": "=HYPERLINK(\"x\")"},
            {"id": "x3", "at": "2026-02-14T03:00:00Z", "approximate": True},
        ],
        "water": [["2026-02-10", 7], ["2026-02-11", 5]],
        "routines": ["2026-02-10T20:45:00.000Z", "2026-02-11T21:10:00.000Z"],
    })
    reload_diary(page)
    before = page.evaluate(ALL_ENTRIES)

    with page.expect_download(timeout=10000) as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert re.fullmatch(r"unknot-diary-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("record,id,time,muscle")
    assert "'=HYPERLINK" in text  # a spreadsheet will not run it

    # The same file again: nothing doubles.
    page.set_input_files("#import-file", str(path))
    page.locator("#data-status").get_by_text("Imported: 0 new, 0 updated, 7 already here.").wait_for()
    assert len(page.evaluate(ALL_ENTRIES)) == 3

    # A new phone: everything arrives, exactly.
    other = launch_browser(live_server.url)
    fresh = open_diary(other)
    fresh.set_input_files("#import-file", str(path))
    fresh.locator("#data-status").get_by_text("Imported: 7 new").wait_for()
    assert fresh.evaluate(ALL_ENTRIES) == before
    assert fresh.evaluate(f"{STORE}.then(s => s.allWater())") == page.evaluate(f"{STORE}.then(s => s.allWater())")
    assert fresh.evaluate("JSON.parse(localStorage.getItem('unknot-routines'))") == \
        ["2026-02-10T20:45:00.000Z", "2026-02-11T21:10:00.000Z"]
    assert entry_texts(fresh) == entry_texts(page)
    assert_clean(browser)
    assert_clean(other)


def test_delete_all_my_data_after_confirmation(browser):
    page = open_diary(browser)
    page.evaluate(SEED, {"entries": [{"id": "z", "at": "2026-02-10T01:30:00Z"}], "water": [["2026-02-10", 3]],
                         "routines": ["2026-02-10T20:45:00.000Z"]})
    reload_diary(page)
    page.get_by_role("button", name="Delete all my data").click()
    dialog = page.locator("#confirm")
    assert dialog.is_visible() and "can't be undone" in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    assert len(entry_texts(page)) == 1
    page.get_by_role("button", name="Delete all my data").click()
    dialog.get_by_role("button", name="Delete everything").click()
    page.locator("#data-status").get_by_text("Deleted.").wait_for()
    reload_diary(page)
    assert entry_texts(page) == []
    assert page.locator("#empty").is_visible()
    assert page.evaluate(ALL_ENTRIES) == []
    assert page.evaluate(f"{STORE}.then(s => s.allWater())") == []
    assert page.evaluate("localStorage.getItem('unknot-routines')") is None
    assert_clean(browser)


V1 = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('unknot-diary', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('entries', { keyPath: 'id' }).createIndex('at', 'at');
  open.onsuccess = () => {
    const tx = open.result.transaction('entries', 'readwrite');
    tx.objectStore('entries').put({ id: 'old-1', at: '2026-01-05T02:30:00.000Z', muscle: 'calf', side: 'left', severity: 6,
      seconds: 80, woke: true, activity: 'asleep', triggers: ['heat'], note: 'from v1', updated: '2026-01-05T08:00:00.000Z' });
    tx.objectStore('entries').put({ id: 'old-2', at: '2026-01-09T23:10:00.000Z', muscle: 'foot', side: '', severity: null,
      seconds: null, woke: false, activity: '', triggers: [], note: '', updated: '2026-01-09T23:15:00.000Z' });
    tx.oncomplete = () => { open.result.close(); resolve(); };
    tx.onerror = () => reject(tx.error);
  };
  open.onerror = () => reject(open.error);
})"""

INSPECT = """() => new Promise((resolve) => {
  const open = indexedDB.open('unknot-diary');
  open.onsuccess = () => {
    const db = open.result;
    const store = db.transaction('entries').objectStore('entries');
    const all = store.index('night').getAll();
    all.onsuccess = () => { resolve({ version: db.version, stores: [...db.objectStoreNames],
      indexes: [...store.indexNames], entries: all.result }); db.close(); };
  };
})"""


def test_schema_upgrade_keeps_old_entries(browser):
    page = browser.open("/about")
    page.evaluate(V1)
    page = open_diary(browser)
    texts = entry_texts(page)
    assert len(texts) == 2
    assert any("from v1" in t and "Calf" in t for t in texts)
    found = page.evaluate(INSPECT)
    assert found["version"] == 2
    assert found["stores"] == ["entries", "water"]
    assert found["indexes"] == ["at", "night"]
    by_id = {e["id"]: e for e in found["entries"]}
    assert set(by_id) == {"old-1", "old-2"}
    old = by_id["old-1"]
    assert old["symptoms"] == [] and old["note"] == "from v1" and old["triggers"] == ["heat"] and old["severity"] == 6
    assert old["updated"] == "2026-01-05T08:00:00.000Z"
    assert old["night"] == page.evaluate("""() => { const d = new Date('2026-01-05T02:30:00Z'); d.setHours(d.getHours() - 12);
        return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; }""")
    # The upgraded database keeps working: the new fields are used at once.
    page.locator("#entry-list > li").filter(has_text="from v1").get_by_role("button", name=re.compile("^Edit")).click()
    page.locator("#entry-form").get_by_label("Weakness").check()
    page.locator("#entry-form").get_by_role("button", name="Save").click()
    page.locator("#status").get_by_text("Changes saved.").wait_for()
    assert "weakness" in page.locator("#entry-list > li").filter(has_text="from v1").inner_text()
    assert page.evaluate(f"{STORE}.then(s => s.allEntries())")[0]["symptoms"] == ["weakness"]
    assert_clean(browser)


def test_empty_charts_say_so(browser):
    page = open_diary(browser)
    today = page.evaluate("new Date().toLocaleDateString('sv')")  # YYYY-MM-DD, local
    page.evaluate(SEED, {"water": [[today, 3]]})
    reload_diary(page)
    charts = page.locator("#charts")
    assert charts.locator("svg.chart").count() == 1, "only the glasses have something to draw"
    assert charts.locator(".chart-empty").all_inner_texts() == [
        "No entries yet.", "No entries yet with a pain rating.", "No entries yet with a time."]
    assert_clean(browser)


def test_print_summary_and_pdf(browser, output_dir):
    page = open_diary(browser)
    page.evaluate(MONTH)
    reload_diary(page)
    facts = page.locator("#facts").inner_text()
    for term in ("Period", "Cramps", "Severity", "Pattern", "Muscles", "What was tried", "Bedtime stretching"):
        assert term in facts
    # Reads as a clinician would write it, and lists the dated entries under the totals.
    assert re.search(r"cramps woke them (once|\d+ times)\.", facts), facts
    assert "kept by the patient" in page.locator("#summary-origin").text_content()
    listed = page.locator("#summary-entries li").all_inner_texts()
    assert len(listed) == len(page.evaluate(ALL_ENTRIES)) > 5
    assert all(re.match(r"^\w+, \w+ \d+, \d\d:\d\d", text) for text in listed), listed[:3]
    assert any("woke them" in text for text in listed) and not any("woke me" in text for text in listed)
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi, as the PDF below
    page.emulate_media(media="print")
    assert page.locator("#summary").is_visible()
    assert page.locator("#summary-chart rect.col").first.is_visible()
    for hidden in ("#entry-list", "#trends", ".tabs", ".foot", "h1", "#print"):
        assert page.locator(hidden).first.is_hidden(), hidden
    assert page.locator("#summary-origin").is_visible()
    page.screenshot(path=str(output_dir / "diary-print.png"), full_page=True)
    page.emulate_media(media="null")  # printing decides the media again

    pdf = base64.b64decode(page.context.new_cdp_session(page).send("Page.printToPDF", {
        "paperWidth": 8.27, "paperHeight": 11.69, "printBackground": False})["data"])
    (output_dir / "diary-summary.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one page for the clinician
    assert_clean(browser)


@pytest.mark.parametrize("theme", ["light", "dark", "night"])
def test_no_accessibility_violations(launch_browser, live_server, theme):
    from axe_playwright_python.sync_playwright import Axe

    browser = launch_browser(live_server.url, color_scheme="light" if theme == "light" else "dark")
    page = open_diary(browser)
    page.evaluate(MONTH)
    page.evaluate("""() => { const p = { at: new Date(Date.now() - 36e5).toISOString(), muscle: 'foot', side: null, seconds: 70 };
        localStorage.setItem('unknot-pending-cramp', JSON.stringify(p)); }""")
    reload_diary(page)
    page.locator("#entry-form").wait_for(state="visible")  # the form, open, is scanned too
    page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
    for summary in page.locator("details.numbers summary").all():
        summary.click()
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    assert_clean(browser)


SIZES = """() => {
  const shown = (el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden';
  const targets = [...document.querySelectorAll('#app button, #app .chips label, #app summary, #app .flag a, #app .file-button, #app select, #app input:not([type=checkbox]):not([type=radio]):not([type=file])')]
    .filter(shown).filter((el) => el.getBoundingClientRect().height < 48).map((el) => el.outerHTML.slice(0, 80));
  const texts = [...document.querySelectorAll('#app *')].filter(shown)
    .filter((el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
    .filter((el) => el.closest('svg') ? Number(el.getAttribute('font-size') || parseFloat(getComputedStyle(el).fontSize)) < 18
                                      : parseFloat(getComputedStyle(el).fontSize) < 18)
    .map((el) => el.outerHTML.slice(0, 80));
  return { targets, texts };
}"""


def assert_sizes(page):
    """Every control at least 48 px high; all text at least 18 px (SVG: 18 units ≈ 18 px at phone width)."""
    found = page.evaluate(SIZES)
    assert found == {"targets": [], "texts": []}


def test_diary_screenshots(launch_browser, live_server, output_dir):
    """For looking at: a month of entries at 390×844, dark first."""
    for scheme, theme in (("dark", "dark"), ("dark", "night"), ("light", "light")):
        browser = launch_browser(live_server.url, color_scheme=scheme)
        page = open_diary(browser)
        page.evaluate(MONTH)
        reload_diary(page)
        page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
        page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')",
                               timeout=10000)  # colour transitions settle
        page.screenshot(path=str(output_dir / f"diary-{theme}.png"))
        page.screenshot(path=str(output_dir / f"diary-{theme}-full.png"), full_page=True)
        if theme == "dark":
            assert_sizes(page)
            page.get_by_role("button", name="Log one with details").click()
            assert_sizes(page)
            page.locator("#entry-form").get_by_label("Calf").check()
            page.locator("#entry-form input[name=severity][value='6']").check()
            page.locator("#entry-form").screenshot(path=str(output_dir / "diary-dark-form.png"))
            page.locator("#trends").screenshot(path=str(output_dir / "diary-dark-trends.png"))
        assert_clean(browser)


def test_without_javascript_the_page_explains(launch_browser, live_server, output_dir):
    browser = launch_browser(live_server.url, java_script_enabled=False)
    page = browser.open("/diary")
    notice = page.locator("#needs-js")
    assert notice.is_visible()
    assert "only on this device" in notice.inner_text()
    assert page.locator("#app").is_hidden()
    page.screenshot(path=str(output_dir / "diary-no-js.png"))
    assert browser.foreign_requests == []
