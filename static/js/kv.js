// A tiny key-value store in IndexedDB ("unknot" / "kv"), shared with the
// service worker (the server inlines this file into sw.js: webapp/web/assets.py),
// which needs the reminders token and keeps its outbox here. No imports, and
// named exports of consts and functions only, so it can be inlined.

const DB = "unknot";
const STORE = "kv";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted")); // e.g. storage full
    });
  } finally {
    db.close();
  }
}

export const get = (key) => run("readonly", (store) => store.get(key));
export const set = (key, value) => run("readwrite", (store) => store.put(value, key));
export const remove = (key) => run("readwrite", (store) => store.delete(key));
/* Read, change and write one value in a single transaction, so two updates never lose each other's changes. */
export const update = (key, change) => run("readwrite", (store) => {
  const request = store.get(key);
  request.onsuccess = () => store.put(change(request.result), key);
  return request;
});
