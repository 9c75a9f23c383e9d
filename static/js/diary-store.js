// The diary's own small IndexedDB wrapper ("unknot-diary"). The schema is
// versioned: each upgrade step runs in order, so a phone that skipped
// updates still arrives at the newest schema with every entry kept.
// Nothing here talks to the network.

import { nightOf } from "./diary-stats.js"; // a cramp belongs to the night it happened in

const NAME = "unknot-diary";
export const VERSION = 2;

const UPGRADES = {
  // v1: cramps by id, listed by start time.
  1(db) {
    db.createObjectStore("entries", { keyPath: "id" }).createIndex("at", "at");
  },
  // v2: swelling/weakness ("symptoms"), the night as an indexed field, and a
  // water counter per day. Entries written by v1 get the new fields.
  2(db, tx) {
    const entries = tx.objectStore("entries");
    entries.createIndex("night", "night");
    db.createObjectStore("water", { keyPath: "day" });
    entries.openCursor().onsuccess = (event) => {
      const cursor = event.target.result;
      if (!cursor) return;
      try { cursor.update(normalize(cursor.value)); } catch { /* unreadable date: leave it be */ }
      cursor.continue();
    };
  },
};

const TEXT_FIELDS = ["muscle", "side", "activity", "note"];

/* One entry in the current schema, whatever it came from (v1, a form, a CSV). */
export function normalize(entry) {
  const at = new Date(entry.at).toISOString();
  const clean = {
    id: String(entry.id),
    at,
    night: nightOf(at),
    severity: numberOrNull(entry.severity, 0, 10),
    seconds: numberOrNull(entry.seconds, 0, 86400),
    woke: Boolean(entry.woke),
    approximate: Boolean(entry.approximate),
    triggers: listOf(entry.triggers),
    symptoms: listOf(entry.symptoms),
    updated: entry.updated ? new Date(entry.updated).toISOString() : at,
  };
  for (const field of TEXT_FIELDS) clean[field] = String(entry[field] ?? "").slice(0, 1000);
  return clean;
}

function numberOrNull(value, min, max) {
  if (value === null || value === undefined || value === "") return null;
  const n = Math.round(Number(value));
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : null;
}

const listOf = (value) => (Array.isArray(value) ? value.map(String).filter(Boolean) : []);

let opening = null;

export function open() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = (event) => {
      for (let v = event.oldVersion + 1; v <= VERSION; v++) UPGRADES[v](request.result, request.transaction);
    };
    request.onsuccess = () => {
      const db = request.result;
      // A newer version of the app, open in another tab, needs to upgrade: let it.
      db.onversionchange = () => { db.close(); opening = null; };
      resolve(db);
    };
    request.onerror = () => { opening = null; reject(request.error); };
  });
  return opening;
}

/* One transaction; resolves once it has committed, with the request's result. */
async function run(stores, mode, work) {
  const db = await open();
  const tx = db.transaction(stores, mode);
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
  const request = work(tx);
  await done;
  return request instanceof IDBRequest ? request.result : request;
}

export const allEntries = () => run("entries", "readonly", (tx) => tx.objectStore("entries").index("at").getAll());
export const putEntry = (entry) => run("entries", "readwrite", (tx) => tx.objectStore("entries").put(normalize(entry)));
export const deleteEntry = (id) => run("entries", "readwrite", (tx) => tx.objectStore("entries").delete(id));
export const allWater = () => run("water", "readonly", (tx) => tx.objectStore("water").getAll());
export const putWater = (day, glasses) => run("water", "readwrite", (tx) =>
  tx.objectStore("water").put({ day, glasses, updated: new Date().toISOString() }));
export const clearAll = () => run(["entries", "water"], "readwrite", (tx) => {
  tx.objectStore("entries").clear();
  tx.objectStore("water").clear();
});

/* Import: records are matched by their stable key; the newer edit wins. */
export function merge({ entries = [], water = [] }) {
  const counts = { added: 0, updated: 0, same: 0 };
  return run(["entries", "water"], "readwrite", (tx) => {
    mergeInto(tx.objectStore("entries"), entries.map(normalize), counts);
    mergeInto(tx.objectStore("water"), water, counts);
    return counts;
  });
}

function mergeInto(store, records, counts) {
  for (const record of records) {
    const get = store.get(store.keyPath === "id" ? record.id : record.day);
    get.onsuccess = () => {
      const old = get.result;
      if (!old) counts.added++;
      else if (record.updated > old.updated) counts.updated++;
      else { counts.same++; return; }
      store.put(record);
    };
  }
}
