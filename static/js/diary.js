// The cramp diary: log, edit, trends, red flags, a summary for the doctor,
// export and import. Everything stays on this device (IndexedDB, through
// diary-store.js); nothing is sent anywhere. The helper modules are loaded
// by their hashed URLs, given in #diary's data-*, because those are the
// URLs the service worker precaches: the diary works offline.

const root = document.getElementById("diary");
const [store, stats, csv, charts] = await Promise.all(
  ["store", "stats", "csv", "charts"].map((name) => import(root.dataset[name])));
const { h } = charts;

const PENDING = "unknot-pending-cramp"; // written by the stretch player
const ROUTINES = "unknot-routines"; // bedtime-routine finish times, from the player
const SHOWN = 5; // entries listed before "Show all"
const $ = (id) => document.getElementById(id);
const form = $("entry-form");
const state = { entries: [], water: [], day: "", showAll: false, opener: null };

const format = {
  day: new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" }),
  time: new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }),
  date: new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" }),
  full: new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" }),
};
const dateOf = (key) => format.date.format(stats.parseDay(key));
const pad = (n) => String(n).padStart(2, "0");
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const one = (x) => (Math.round(x * 10) / 10).toString();

/* ---------- Words ---------- */

/* The words for stored values come from the form's own labels: one source. */
function labelOf(name, value) {
  const sel = CSS.escape(value);
  const option = form.querySelector(`select[name="${name}"] option[value="${sel}"]`);
  const input = form.querySelector(`input[name="${name}"][value="${sel}"]`);
  return (option || input?.parentElement)?.textContent.trim() || value;
}
const labelsOf = (name, values) => values.map((v) => labelOf(name, v)).join(", ");
const counted = (name, pairs) => pairs.map(([value, n]) => `${labelOf(name, value)} ${n}`).join(", ");

function when(entry) {
  if (entry.approximate) return `Night of ${format.day.format(stats.parseDay(entry.night))}`;
  const d = new Date(entry.at);
  return `${format.day.format(d)}, ${format.time.format(d)}`;
}

function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  const rest = Math.round(seconds % 60);
  return `${Math.floor(seconds / 60)} min${rest ? ` ${rest} s` : ""}`;
}

/* `who`: "me" in the person's own list, "them" in the summary for the doctor. */
function facts(entry, who = "me") {
  return [
    entry.muscle && labelOf("muscle", entry.muscle),
    entry.side && (entry.side === "both" ? "both sides" : `${entry.side} side`),
    entry.seconds !== null && duration(entry.seconds),
    entry.severity !== null && `pain ${entry.severity}/10`,
    entry.woke && `woke ${who}`,
  ].filter(Boolean).join(" · ") || "No details yet";
}

const dates = (entries) => {
  const list = entries.slice(-3).map((e) => (e.approximate ? dateOf(e.night) : format.date.format(new Date(e.at))));
  return entries.length > 3 ? `${list.join(", ")} and ${entries.length - 3} more` : list.join(" and ").replace(/ and (?=.* and )/, ", ");
};

/* ---------- Storage ---------- */

function readRoutines() {
  try {
    const list = JSON.parse(localStorage.getItem(ROUTINES) || "[]");
    return Array.isArray(list) ? list.filter((at) => typeof at === "string" && Number.isFinite(Date.parse(at))) : [];
  } catch { return []; }
}

/* Same shape the player writes: ISO strings, oldest first, at most 400. */
function mergeRoutines(incoming) {
  const known = readRoutines();
  const added = incoming.filter((at) => !known.includes(at));
  try { localStorage.setItem(ROUTINES, JSON.stringify([...new Set([...known, ...added])].sort().slice(-400))); } catch { /* full */ }
  return added.length;
}

const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);

async function save(entry) {
  const first = state.entries.length === 0;
  await store.putEntry(entry);
  if (first) askToPersist();
  await refresh();
}

/* Ask once, after the first entry, that the browser never evicts the diary. */
async function askToPersist() {
  if (!navigator.storage?.persist || (await navigator.storage.persisted())) return;
  await navigator.storage.persist();
}

async function refresh() {
  const [entries, water] = await Promise.all([store.allEntries(), store.allWater()]);
  state.entries = entries.flatMap((e) => { try { return [store.normalize(e)]; } catch { return []; } });
  state.water = water;
  state.day = today();
  const analysis = stats.analyse({ entries: state.entries, routines: readRoutines(), water });
  renderEntries();
  renderWater();
  renderFlags(analysis);
  renderTrends(analysis);
  renderSummary(analysis);
}

function say(id, text, ...extra) {
  const el = $(id);
  el.replaceChildren();
  // A fresh node, a frame later, so screen readers announce a repeat too.
  requestAnimationFrame(() => el.replaceChildren(text, ...extra));
}

/* ---------- Logging ---------- */

async function logLastNight() {
  const now = new Date();
  const night = new Date(now);
  night.setHours(3, 0, 0, 0); // time not noted: the middle of the night, never the future
  const entry = { id: newId(), at: (night < now ? night : now).toISOString(), approximate: true };
  await save(entry);
  say("status", "Logged a cramp last night. ",
    h("button", { type: "button", class: "link-button", onclick: () => openForm(state.entries.find((e) => e.id === entry.id)) }, "Add details"));
}

const toLocalInput = (at) => {
  const d = new Date(at);
  return `${stats.dayKey(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

function openForm(entry = null, note = "") {
  state.opener = document.activeElement;
  fillForm(entry ?? { at: new Date().toISOString() });
  form.dataset.id = entry?.id ?? "";
  $("form-h").textContent = entry ? "Edit this cramp" : "A new cramp";
  $("form-note").textContent = note;
  $("form-note").hidden = !note;
  $("form-delete").hidden = !entry;
  showTimeError("");
  form.hidden = false;
  // In full view above the tab bar (scroll-margin in diary.css), the first field ready to use.
  form.scrollIntoView({ block: "start" });
  form.elements.at.focus({ preventScroll: true });
}

function fillForm(entry) {
  const f = form.elements;
  form.reset();
  f.at.value = toLocalInput(entry.at);
  for (const name of ["muscle", "side", "severity"]) f[name].value = entry[name] ?? "";
  f.minutes.value = entry.seconds == null ? "" : Math.floor(entry.seconds / 60);
  f.secs.value = entry.seconds == null ? "" : entry.seconds % 60;
  f.woke.checked = Boolean(entry.woke);
  f.activity.value = entry.activity ?? "";
  for (const name of ["triggers", "symptoms"]) {
    for (const box of form.querySelectorAll(`[name="${name}"]`)) box.checked = (entry[name] ?? []).includes(box.value);
  }
  f.note.value = entry.note ?? "";
}

function readForm(previous) {
  const f = form.elements;
  const checked = (name) => [...form.querySelectorAll(`[name="${name}"]:checked`)].map((box) => box.value);
  const timed = f.minutes.value !== "" || f.secs.value !== "";
  const sameTime = previous && f.at.value === toLocalInput(previous.at); // keep its seconds
  return {
    ...previous,
    id: previous?.id ?? newId(),
    at: sameTime ? previous.at : new Date(f.at.value).toISOString(),
    // A quick entry stays "time not noted" until someone changes its time.
    approximate: Boolean(sameTime && previous.approximate),
    muscle: f.muscle.value,
    side: f.side.value,
    severity: f.severity.value,
    seconds: timed ? Number(f.minutes.value || 0) * 60 + Number(f.secs.value || 0) : null,
    woke: f.woke.checked,
    activity: f.activity.value,
    triggers: checked("triggers"),
    symptoms: checked("symptoms"),
    note: f.note.value.trim(),
    updated: new Date().toISOString(),
  };
}

function timeProblem(value) {
  const at = Date.parse(value);
  if (!value || !Number.isFinite(at)) return "Please give the date and time it started.";
  if (at > Date.now() + 5 * 60e3) return "That time is still to come. Please check the date.";
  return "";
}

function showTimeError(text) {
  const input = form.elements.at;
  $("at-error").textContent = text;
  $("at-error").hidden = !text;
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

async function saveForm(event) {
  event.preventDefault();
  const problem = timeProblem(form.elements.at.value);
  showTimeError(problem);
  if (problem) { form.elements.at.focus(); return; }
  const previous = state.entries.find((e) => e.id === form.dataset.id);
  await save(readForm(previous));
  closeForm(previous ? "Changes saved." : "Cramp saved.");
}

function closeForm(message) {
  form.hidden = true;
  // Back where the person was, unless that button is gone (re-rendered, or the status line about to change).
  const opener = state.opener;
  const back = opener?.isConnected && opener !== document.body && !$("status").contains(opener) ? opener : $("entries-h");
  back.focus();
  if (message) {
    say("status", message);
    $("status").scrollIntoView({ block: "center" }); // the confirmation where the person is looking
  }
}

/* The player's "Log this cramp": save it at once (nothing lost if the person
   goes back to sleep), then offer the details. */
async function takePending() {
  let pending = null;
  try { pending = JSON.parse(localStorage.getItem(PENDING)); } catch { /* unreadable: ignore */ }
  if (!pending || !Number.isFinite(Date.parse(pending.at))) return;
  const muscles = [...form.querySelectorAll('[name="muscle"]')].map((input) => input.value);
  const id = `stretch-${Date.parse(pending.at)}`; // stable: a reload can't log it twice
  if (!state.entries.some((e) => e.id === id)) {
    await save({
      id, at: pending.at,
      muscle: muscles.includes(pending.muscle) ? pending.muscle : "",
      side: ["left", "right", "both"].includes(pending.side) ? pending.side : "",
      seconds: Number.isInteger(pending.seconds) && pending.seconds >= 0 ? pending.seconds : null,
    });
  }
  try { localStorage.removeItem(PENDING); } catch { /* ignore */ }
  if (location.search) history.replaceState(null, "", location.pathname);
  openForm(state.entries.find((e) => e.id === id),
    "Saved from your stretch. Add what you remember — side, how bad, what you were doing — or leave it as it is.");
}

async function removeEntry() {
  const entry = state.entries.find((e) => e.id === form.dataset.id);
  if (!entry || !(await confirmed(`Delete the cramp of ${when(entry)}?`, "Delete"))) return;
  await store.deleteEntry(entry.id);
  await refresh();
  form.hidden = true;
  $("entries-h").focus();
  say("status", "Entry deleted.");
}

function confirmed(text, yes) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yes;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true }));
}

/* ---------- Water ---------- */

const today = () => stats.dayKey(new Date());
const glassesToday = () => state.water.find((w) => w.day === today())?.glasses ?? 0;

async function changeGlasses(delta) {
  const glasses = Math.min(30, Math.max(0, glassesToday() + delta));
  if (glasses === glassesToday()) return;
  await store.putWater(today(), glasses);
  await refresh();
}

/* Shared with /reminders: with a doctor's fluid limit, no water tips. */
const FLUID_KEY = "unknot-fluid-limited";
function fluidLimited() {
  try { return localStorage.getItem(FLUID_KEY) === "true"; } catch { return false; }
}

function setFluidLimited() {
  try { localStorage.setItem(FLUID_KEY, String($("fluid-limited").checked)); } catch { /* this visit only */ }
  renderWater();
}

function renderWater() {
  const limited = fluidLimited() || $("fluid-limited").checked;
  $("fluid-limited").checked = limited;
  $("water-tip").hidden = limited;
  $("fluid-plan").hidden = !limited;
  const glasses = glassesToday();
  $("glasses").textContent = glasses;
  $("glass-remove").setAttribute("aria-disabled", String(glasses === 0));
}

/* ---------- Entries ---------- */

function entryItem(entry) {
  const name = when(entry);
  const more = [
    entry.activity && `Doing: ${labelOf("activity", entry.activity).toLowerCase()}`,
    entry.triggers.length && `Possible triggers: ${labelsOf("triggers", entry.triggers).toLowerCase()}`,
    entry.symptoms.length && `Also noticed: ${labelsOf("symptoms", entry.symptoms).toLowerCase()}`,
  ];
  return h("li", { class: "entry" },
    h("div", { class: "entry-head" },
      h("p", { class: "entry-when" }, name),
      h("button", { type: "button", class: "quiet-button", onclick: () => openForm(entry) },
        "Edit", h("span", { class: "visually-hidden" }, ` the cramp of ${name}`))),
    h("p", { class: "entry-facts" }, facts(entry)),
    more.filter(Boolean).map((text) => h("p", { class: "entry-more" }, text)),
    entry.note && h("p", { class: "entry-note" }, entry.note));
}

function renderEntries() {
  const newest = [...state.entries].reverse();
  $("entry-list").replaceChildren(...(state.showAll ? newest : newest.slice(0, SHOWN)).map(entryItem));
  $("empty").hidden = newest.length > 0;
  $("show-all").hidden = newest.length <= SHOWN;
  $("show-all").textContent = state.showAll ? "Show only the latest" : `Show all ${newest.length} entries`;
}

/* ---------- Red flags ---------- */

/* What the diary saw, for each card; the advice itself is the triage
   table's, rendered by the server into diary.html's templates. */
const FLAGS = {
  statin: (f) => `You noted a statin on ${dates(f.entries)}.`,
  swelling: (f) => `You noted swelling, warmth or redness on ${dates(f.entries)}.`,
  long: (f) => `${dates(f.entries)}: ${f.entries.map((e) => duration(e.seconds)).slice(-3).join(", ")}.`,
  frequent: (f) => `Cramps woke you on 3 or more nights a week, two weeks running: on ${f.recent} nights in the week to ${dateOf(f.end)}, and on ${f.before} nights in the week before. Cramps disturbing your sleep: see a GP.`,
  weakness: (f) => `You noted numbness or weakness on ${dates(f.entries)}.`,
  medicine: (f) => `You noted another new medicine on ${dates(f.entries)}.`,
};
const flagBox = (kind) => document.querySelector(`[data-flag-card="${kind}"]`).content.cloneNode(true);
const flagTitle = (kind) => flagBox(kind).querySelector("[data-flag] strong").textContent.replace(/\.$/, "");

function renderFlags({ flags }) {
  $("flags").hidden = flags.length === 0;
  $("flag-list").replaceChildren(...flags.map((flag) =>
    h("div", { class: `flag flag-${flag.kind}` }, h("p", { class: "flag-seen" }, FLAGS[flag.kind](flag)), flagBox(flag.kind))));
}

/* ---------- Trends ---------- */

function section(title, ...content) {
  return h("section", { class: "chart-box" }, h("h3", {}, title), content);
}

const numbers = (summary, table) => h("details", { class: "numbers" }, h("summary", {}, summary), table);

const weekLabels = (weeks) => weeks.map((w) => dateOf(w.start));

/* "In the last 4 weeks … in the 4 before …", once the diary is that old. */
/* A chart with nothing to draw says so, instead of a bare axis. */
const chartOr = (values, empty, chart) => (values.some((v) => v) ? chart() : h("p", { class: "chart-empty" }, empty));

function lastFourWeeks(weeks) {
  if (weeks.length < 8) return null;
  const sum = (list) => list.reduce((n, w) => n + w.cramps, 0);
  return [sum(weeks.slice(-4)), sum(weeks.slice(-8, -4))];
}

function weekCharts(weeks) {
  const labels = weekLabels(weeks);
  const span = `the ${plural(weeks.length, "week")} from ${dateOf(weeks[0].start)}`;
  const cramps = weeks.map((w) => w.cramps);
  const severity = weeks.map((w) => w.severity);
  const glasses = weeks.map((w) => (w.glasses === null ? null : Math.round(w.glasses)));
  const four = lastFourWeeks(weeks);
  return [
    section("Cramps per week",
      chartOr(cramps, "No entries yet.", () => charts.bars({ title: "Cramps per week", desc: `Cramps logged each week in ${span}: ${cramps.join(", ")}.`, values: cramps, labels })),
      h("p", {}, four
        ? `In the last 4 weeks you logged ${plural(four[0], "cramp")}; in the 4 weeks before, ${four[1]}.`
        : `Weeks start on Monday; a cramp before noon counts for the night before.`)),
    section("How bad, week by week",
      chartOr(severity, "No entries yet with a pain rating.", () => charts.line({ title: "Average severity per week", desc: `Average severity from 0 to 10, per week, in ${span}: ${severity.map((v) => (v === null ? "none rated" : one(v))).join(", ")}.`, values: severity, labels })),
      h("p", {}, "Average of the severities you gave, 0 to 10. Weeks without a rating are left out.")),
    section("Glasses of water a day",
      chartOr(glasses, "No entries yet.", () => charts.bars({ title: "Glasses of water a day", desc: `Average glasses a day, on days you counted, per week in ${span}: ${glasses.map((v) => v ?? "none").join(", ")}.`, values: glasses, labels })),
      h("p", {}, "Counted with “Add a glass” above. Days you didn't count are left out.")),
    h("div", { class: "table-box" }, numbers("Week by week, as a table", charts.table({
      caption: "Week by week",
      head: ["Week of", "Cramps", "Cramp nights", "Severity", "Routine nights", "Glasses a day"],
      rows: weeks.map((w) => [dateOf(w.start), w.cramps, w.nights, w.severity === null ? "–" : one(w.severity), w.routine, w.glasses === null ? "–" : one(w.glasses)]),
    }))),
  ];
}

function hourChart({ bins, timed, untimed }) {
  const range = (from) => `${pad(from)}:00–${pad((from + 3) % 24)}:00`;
  const top = [...bins].sort((a, b) => b.count - a.count)[0];
  const words = timed ? `Most often between ${pad(top.from)}:00 and ${pad((top.from + 3) % 24)}:00: ${top.count} of ${timed}.` : "No cramps with a time yet.";
  return section("Time of day",
    chartOr([timed], "No entries yet with a time.", () => charts.bars({ title: "Cramps by time of day", desc: `Cramps in each three-hour stretch from 18:00: ${bins.map((b) => `${range(b.from)} ${b.count}`).join(", ")}. ${words}`,
      values: bins.map((b) => b.count), labels: bins.map((b) => pad(b.from)) })),
    h("p", {}, `${words} Each bar is three hours, from the hour shown (18 is 6 pm).${untimed ? ` ${plural(untimed, "quick entry", "quick entries")} without a time ${untimed === 1 ? "is" : "are"} left out.` : ""}`),
    numbers("Time of day, as a table", charts.table({
      caption: "Cramps by time of day", head: ["Time", "Cramps"], rows: bins.map((b) => [range(b.from), b.count]),
    })));
}

function routineChart(routine) {
  if (!routine?.routine.nights) {
    return section("Bedtime routine",
      h("p", {}, "No bedtime-routine nights yet. Once you do the ", h("a", { href: "/routine/bedtime" }, "bedtime stretch"),
        " on some nights, this compares them with the others."));
  }
  const rows = [["After the bedtime routine", routine.routine], ["Other nights", routine.other]]
    .map(([label, g]) => ({ label, ...g, share: g.nights ? g.cramps / g.nights : 0 }));
  const [done, other] = rows;
  const words = `A cramp came on ${done.cramps} of ${plural(done.nights, "night")} after the bedtime routine (${Math.round(done.share * 100)}%), and on ${other.cramps} of ${plural(other.nights, "other night")} (${Math.round(other.share * 100)}%).`;
  return section("Nights with and without the bedtime routine",
    charts.shares({ title: "Share of nights with a cramp, with and without the bedtime routine", desc: words, rows }),
    h("p", {}, `${words} An observation, not proof: other things change from night to night too.`),
    numbers("Bedtime routine, as a table", charts.table({
      caption: "Nights with a cramp", head: ["Nights", "Nights", "With a cramp", "Share"],
      rows: rows.map((r) => [r.label, r.nights, r.cramps, `${Math.round(r.share * 100)}%`]),
    })));
}

function renderTrends(analysis) {
  const { totals } = analysis;
  const intro = analysis.firstData
    ? `${plural(totals.cramps, "cramp")} on ${plural(totals.nights, "night")} since ${dateOf(analysis.firstData)}.`
    : "Your trends appear here once you have logged a few cramps.";
  $("charts").replaceChildren(h("p", { class: "trend-total" }, intro),
    ...(analysis.firstData ? [...weekCharts(analysis.weeks), hourChart(analysis.hours), routineChart(analysis.routine)] : []));
}

/* ---------- Summary for the doctor (also the print page) ---------- */

function summaryFacts(a) {
  const t = a.totals;
  const bins = a.hours.bins;
  const top = [...bins].sort((x, y) => y.count - x.count)[0];
  const r = a.routine;
  const share = (g) => `${g.cramps} of ${g.nights} (${Math.round((g.cramps / g.nights) * 100)}%)`;
  const four = lastFourWeeks(a.weeks);
  return [
    ["Period", `${format.full.format(stats.parseDay(a.firstData ?? a.from))} to ${format.full.format(new Date())}`],
    ["Cramps", t.cramps ? `${t.cramps} on ${plural(t.nights, "night")}, about ${one(t.perWeek)} a week; ${t.woke ? `cramps woke them ${t.woke === 1 ? "once" : `${t.woke} times`}` : "none woke them"}.` : "None logged in the last 12 weeks."],
    ["Severity (0–10)", t.severity && `Average ${one(t.severity.mean)}, from ${t.severity.min} to ${t.severity.max} (${t.severity.n} rated).`],
    ["Duration", t.seconds && `Typically ${duration(Math.round(t.seconds.median))} (median of ${t.seconds.n}); longest ${duration(t.seconds.max)}.`],
    ["Pattern", t.cramps && [
      a.hours.timed && `Most often ${pad(top.from)}:00–${pad((top.from + 3) % 24)}:00 (${top.count} of ${a.hours.timed} with a time).`,
      four ? `Last 4 weeks: ${four[0]}; the 4 weeks before: ${four[1]}.` : `Per week: ${a.weeks.map((w) => w.cramps).join(", ")}.`,
    ].filter(Boolean).join(" ")],
    ["Muscles", t.muscles.length && `${counted("muscle", t.muscles)}.${t.sides.length ? ` Side: ${counted("side", t.sides).toLowerCase()}.` : ""}`],
    ["Doing at the time", t.activities.length && `${counted("activity", t.activities)}.`],
    ["Possible triggers", t.triggers.length && `${counted("triggers", t.triggers)}.`],
    ["Also noticed", t.symptoms.length && `${counted("symptoms", t.symptoms)}.`],
    ["What was tried", [
      r?.routine.nights && `Bedtime stretching on ${plural(r.routine.nights, "night")}: a cramp followed ${share(r.routine)}; other nights ${r.other.nights ? share(r.other) : "none"}.`,
      t.glasses && `Water: ${one(t.glasses.mean)} glasses a day on average, on ${plural(t.glasses.days, "day")} counted.`,
    ].filter(Boolean).join(" ")],
    ["To discuss", a.flags.map((f) => flagTitle(f.kind)).join("; ")],
  ].filter(([, text]) => text);
}

function renderSummary(analysis) {
  $("summary-origin").textContent = `Cramp diary kept by the patient in the Unknot app; printed ${format.full.format(new Date())}.`;
  $("facts").replaceChildren(...summaryFacts(analysis).map(([term, text]) => h("div", {}, h("dt", {}, term), h("dd", {}, text))));
  const weeks = analysis.weeks;
  $("summary-chart").replaceChildren(...(analysis.totals.cramps ? [h("h3", {}, "Cramps per week"), charts.bars({
    title: "Cramps per week",
    desc: `Cramps per week from ${dateOf(weeks[0].start)}: ${weeks.map((w) => w.cramps).join(", ")}.`,
    values: weeks.map((w) => w.cramps), labels: weekLabels(weeks), height: 150,
  })] : []));
  // Under the totals, each cramp of the period, newest first, as the doctor would write it down.
  const listed = state.entries.filter((e) => e.night >= analysis.from).sort((a, b) => b.at.localeCompare(a.at));
  $("summary-entries").replaceChildren(...(listed.length ? [h("h3", {}, `The ${plural(listed.length, "cramp")}, one by one`),
    h("ol", { class: "summary-list" }, ...listed.map((e) => h("li", {}, h("strong", {}, when(e)), `: ${facts(e, "them")}.`)))] : []));
}

/* ---------- Your data ---------- */

function exportCsv() {
  const text = csv.toCsv({ entries: state.entries, water: state.water, routines: readRoutines() });
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = h("a", { href: url, download: `unknot-diary-${today()}.csv`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60e3);
  say("data-status", `Downloaded ${plural(state.entries.length, "entry", "entries")} as a CSV file.`);
}

async function importCsv() {
  const input = $("import-file");
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  let found;
  try {
    found = csv.fromCsv(await file.text());
  } catch {
    say("data-status", "That file isn't a diary exported from Unknot, so nothing was imported.");
    return;
  }
  const counts = await store.merge(found);
  const routines = mergeRoutines(found.routines);
  counts.added += routines;
  counts.same += found.routines.length - routines;
  await refresh();
  say("data-status", `Imported: ${counts.added} new, ${counts.updated} updated, ${counts.same} already here.` +
    (found.skipped ? ` ${plural(found.skipped, "row")} could not be read.` : ""));
}

async function deleteAll() {
  const text = "Delete every cramp, glass of water and bedtime-routine night stored on this device? This can't be undone. Download a CSV first if you want a copy.";
  if (!(await confirmed(text, "Delete everything"))) return;
  await store.clearAll();
  try { [ROUTINES, PENDING].forEach((key) => localStorage.removeItem(key)); } catch { /* ignore */ }
  await refresh();
  say("data-status", "Deleted. Nothing of your diary is left on this device.");
}

/* ---------- Start ---------- */

function wire() {
  const on = (id, handler, type = "click") => $(id).addEventListener(type, handler);
  on("quick", logLastNight);
  on("details", () => openForm());
  on("entry-form", saveForm, "submit");
  on("form-cancel", () => closeForm(""));
  on("form-delete", removeEntry);
  on("show-all", () => { state.showAll = !state.showAll; renderEntries(); });
  on("glass-add", () => changeGlasses(1));
  on("glass-remove", () => changeGlasses(-1));
  on("fluid-limited", setFluidLimited, "change");
  on("print", () => window.print());
  on("export", exportCsv);
  on("import-file", importCsv, "change");
  on("delete-all", deleteAll);
  // Another tab (the player) may have logged a routine; a new day resets the water count.
  addEventListener("storage", (event) => event.key === ROUTINES && refresh());
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && state.day !== today() && refresh());
}

async function start() {
  try {
    await store.open();
  } catch {
    $("no-storage").hidden = false;
    return;
  } finally {
    $("needs-js").hidden = true;
  }
  $("app").hidden = false;
  wire();
  await refresh();
  await takePending();
}

start();
