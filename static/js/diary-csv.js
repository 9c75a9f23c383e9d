// Our own CSV: one file holds the cramps, the glasses of water and the
// bedtime-routine nights, so a new phone loses nothing. Every row has a
// stable id, so importing the same file twice merges instead of doubling.

export const COLUMNS = ["record", "id", "time", "muscle", "side", "severity", "seconds", "woke", "activity",
  "triggers", "symptoms", "note", "approximate", "glasses", "updated"];

const pad = (n) => String(n).padStart(2, "0");
const isTime = (value) => value !== "" && Number.isFinite(Date.parse(value));
const yes = (flag) => (flag ? "yes" : "no");

/* Local time with its offset, as a person reads it, e.g. 2026-03-03T02:40:00+01:00. */
function localIso(at) {
  const d = new Date(at);
  const offset = -d.getTimezoneOffset();
  const zone = `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`;
}

/* Spreadsheets run cells that start with = + - @ (or tab, CR) as formulas,
   and one opened in a locale that splits on ; or tab sees a new cell after
   each. So a ' goes before every such start, of the cell and after each
   ; , tab, CR or LF (also when spaces or quotes come first, which some
   imports trim), and the import takes exactly those off again. */
const guard = (text) => text.replace(/(?<=^|[;,\t\r\n])(?=[ ']*[=+\-@\t\r])/g, "'");
const unguard = (text) => text.replace(/(?<=^|[;,\t\r\n])'(?=[ ']*[=+\-@\t\r])/g, "");

function cell(value) {
  const text = guard(String(value ?? ""));
  return /[",;\t\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv({ entries, water, routines }) {
  const rows = [
    ...entries.map((e) => ({
      ...e, record: "cramp", time: localIso(e.at), woke: yes(e.woke), approximate: yes(e.approximate),
      triggers: e.triggers.join(";"), symptoms: e.symptoms.join(";"),
    })),
    ...water.map((w) => ({ record: "water", id: `water-${w.day}`, time: w.day, glasses: w.glasses, updated: w.updated })),
    ...routines.map((at) => ({ record: "routine", id: `routine-${at}`, time: localIso(at) })),
  ];
  const lines = [COLUMNS, ...rows.map((row) => COLUMNS.map((column) => row[column]))];
  return "\ufeff" + lines.map((line) => line.map(cell).join(",")).join("\r\n") + "\r\n";
}

/* RFC 4180: quoted cells may hold commas, quotes and line breaks. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let value = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') value += c;
      else if (text[i + 1] === '"') { value += '"'; i++; }
      else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(value); value = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(value); rows.push(row); row = []; value = "";
    } else value += c;
  }
  if (value || row.length) { row.push(value); rows.push(row); }
  return rows;
}

const READERS = {
  cramp: (r) => r.id && isTime(r.time) && {
    id: r.id, at: new Date(r.time).toISOString(), muscle: r.muscle, side: r.side,
    severity: r.severity, seconds: r.seconds, woke: r.woke === "yes", activity: r.activity,
    triggers: r.triggers.split(";").filter(Boolean), symptoms: r.symptoms.split(";").filter(Boolean),
    note: r.note, approximate: r.approximate === "yes", updated: isTime(r.updated) ? r.updated : undefined,
  },
  water: (r) => /^\d{4}-\d\d-\d\d$/.test(r.time) && /^\d{1,2}$/.test(r.glasses) && {
    day: r.time, glasses: Number(r.glasses), updated: isTime(r.updated) ? new Date(r.updated).toISOString() : "",
  },
  routine: (r) => isTime(r.time) && new Date(r.time).toISOString(),
};
const LISTS = { cramp: "entries", water: "water", routine: "routines" };

/* Throws when the file is not a diary export; rows it can't read are counted. */
export function fromCsv(text) {
  const [header, ...rows] = parseCsv(text.replace(/^\ufeff/, ""));
  if (!header || !["record", "id", "time"].every((c) => header.includes(c))) throw new Error("not a diary file");
  const found = { entries: [], water: [], routines: [], skipped: 0 };
  for (const cells of rows) {
    if (cells.every((c) => c === "")) continue;
    const row = Object.fromEntries(header.map((column, i) => [column, unguard(cells[i] ?? "").trim()]));
    const item = READERS[row.record]?.(row);
    if (item) found[LISTS[row.record]].push(item);
    else found.skipped++;
  }
  return found;
}
