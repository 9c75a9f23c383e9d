// Pure arithmetic over the diary: nights, weeks, trends, red flags and the
// figures for the doctor's summary. No DOM and no storage, so every number
// on the page comes from one place.

export const WEEKS = 12;
export const BINS = [18, 21, 0, 3, 6, 9, 12, 15]; // three-hour bins, evening first
const LONG_SECONDS = 10 * 60;

const pad = (n) => String(n).padStart(2, "0");
export const dayKey = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
export const parseDay = (key) => { const [y, m, d] = key.split("-").map(Number); return new Date(y, m - 1, d); };
export const addDays = (key, n) => { const d = parseDay(key); d.setDate(d.getDate() + n); return dayKey(d); };

/* A cramp belongs to the night it happened in: before noon counts as the
   night before. (diary-store.js files each entry under it.) */
export function nightOf(at) {
  const d = new Date(at);
  d.setHours(d.getHours() - 12);
  return dayKey(d);
}

const mondayOf = (key) => addDays(key, -((parseDay(key).getDay() + 6) % 7));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/* [[key, count], …], most frequent first. */
export function countBy(items, keysOf) {
  const counts = new Map();
  for (const item of items) for (const key of [keysOf(item)].flat()) if (key) counts.set(key, (counts.get(key) || 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/* Everything the page shows, for entries, bedtime-routine finish times and water days. */
export function analyse({ entries, routines = [], water = [], now = new Date() }) {
  const tonight = nightOf(now);
  const lastNight = nightOf(now.getTime() - 12 * 36e5); // the last night that is over
  const from = addDays(mondayOf(tonight), -7 * (WEEKS - 1));
  const recent = entries.filter((e) => e.night >= from && e.night <= tonight);
  const routineNights = new Set(routines.map(nightOf).filter((n) => n >= from));
  const glasses = new Map(water.filter((w) => w.glasses > 0 && w.day >= from).map((w) => [w.day, w.glasses]));
  const firstData = [...recent.map((e) => e.night), ...routineNights, ...glasses.keys()].sort()[0] || null;
  return {
    from, to: dayKey(now), firstData, lastNight,
    // Weeks before the diary began are left out: no record is not "no cramps".
    weeks: weekly(recent, routineNights, glasses, from).filter((w) => firstData && addDays(w.start, 6) >= firstData),
    hours: byHour(recent),
    routine: firstData ? compareNights(recent, routineNights, firstData, lastNight) : null,
    flags: redFlags(recent),
    totals: totals(recent, routineNights, glasses, firstData, lastNight),
  };
}

function weekly(entries, routineNights, glasses, from) {
  return Array.from({ length: WEEKS }, (_, i) => {
    const start = addDays(from, 7 * i);
    const end = addDays(start, 6);
    const inWeek = (key) => key >= start && key <= end;
    const cramps = entries.filter((e) => inWeek(e.night));
    const rated = cramps.map((e) => e.severity).filter((s) => s != null);
    const drunk = [...glasses].filter(([day]) => inWeek(day)).map(([, n]) => n);
    return {
      start,
      cramps: cramps.length,
      nights: new Set(cramps.map((e) => e.night)).size,
      severity: rated.length ? mean(rated) : null,
      routine: [...routineNights].filter(inWeek).length,
      glasses: drunk.length ? mean(drunk) : null,
    };
  });
}

function byHour(entries) {
  const timed = entries.filter((e) => !e.approximate);
  const bins = BINS.map((from) => ({
    from,
    count: timed.filter((e) => Math.floor(new Date(e.at).getHours() / 3) * 3 === from).length,
  }));
  return { bins, timed: timed.length, untimed: entries.length - timed.length };
}

/* Of the nights since the diary began, how many had a cramp — after the
   bedtime routine, and without it. */
function compareNights(entries, routineNights, first, last) {
  const crampNights = new Set(entries.map((e) => e.night));
  const groups = { routine: { nights: 0, cramps: 0 }, other: { nights: 0, cramps: 0 } };
  for (let night = first; night <= last; night = addDays(night, 1)) {
    const group = routineNights.has(night) ? groups.routine : groups.other;
    group.nights++;
    if (crampNights.has(night)) group.cramps++;
  }
  return groups;
}

/* The red flags (webapp/content/triage.json) a diary can show, most urgent
   first. "frequent": woken by cramps on 3 or more nights a week, two weeks running. */
export function redFlags(entries) {
  const flags = [];
  const add = (kind, test) => {
    const matching = entries.filter(test);
    if (matching.length) flags.push({ kind, entries: matching });
  };
  const noted = (...values) => (e) => values.some((v) => e.symptoms.includes(v));
  add("statin", (e) => e.triggers.includes("statin"));
  add("swelling", noted("swelling", "warm"));
  add("long", (e) => e.seconds > LONG_SECONDS);
  const busy = busyFortnight(new Set(entries.filter((e) => e.woke).map((e) => e.night)));
  if (busy) flags.push({ kind: "frequent", ...busy });
  add("weakness", noted("numbness", "weakness"));
  add("medicine", (e) => e.triggers.includes("medicine"));
  return flags;
}

/* The latest two back-to-back weeks (any seven nights, not only Monday to
   Sunday) that each had cramps on three or more nights. */
function busyFortnight(nights) {
  const sorted = [...nights].sort();
  if (sorted.length < 6) return null;
  const count = (from, to) => sorted.filter((n) => n >= from && n <= to).length;
  for (let end = sorted.at(-1); end >= addDays(sorted[0], 13); end = addDays(end, -1)) {
    const recent = count(addDays(end, -6), end);
    const before = count(addDays(end, -13), addDays(end, -7));
    if (recent >= 3 && before >= 3) return { end, recent, before };
  }
  return null;
}

function totals(entries, routineNights, glasses, first, last) {
  const rated = entries.map((e) => e.severity).filter((s) => s != null);
  const timed = entries.map((e) => e.seconds).filter((s) => s != null);
  const days = first ? Math.max(7, (parseDay(last) - parseDay(first)) / 864e5 + 1) : 7;
  const drunk = [...glasses.values()];
  return {
    cramps: entries.length,
    nights: new Set(entries.map((e) => e.night)).size,
    perWeek: entries.length / (days / 7),
    woke: entries.filter((e) => e.woke).length,
    severity: rated.length ? { mean: mean(rated), min: Math.min(...rated), max: Math.max(...rated), n: rated.length } : null,
    seconds: timed.length ? { median: median(timed), max: Math.max(...timed), n: timed.length } : null,
    muscles: countBy(entries, (e) => e.muscle),
    sides: countBy(entries, (e) => e.side),
    activities: countBy(entries, (e) => e.activity),
    triggers: countBy(entries, (e) => e.triggers),
    symptoms: countBy(entries, (e) => e.symptoms),
    routineNights: routineNights.size,
    glasses: drunk.length ? { mean: mean(drunk), days: drunk.length } : null,
  };
}
