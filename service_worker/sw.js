/* Unknot's service worker. The server injects VERSION and PRECACHE (hashes
   of the files it serves), so any change ships a new worker. The page, not
   the worker, decides when a new version takes over: see static/js/app.js. */
const VERSION = "__UNKNOT_VERSION__";
const PRECACHE = [/*__UNKNOT_PRECACHE__*/];
const CACHE = `unknot-${VERSION}`;
const PAGES = new Set(PRECACHE.filter((url) => !url.startsWith("/static/")));
const NOT_FOUND = "/offline/not-found"; // webapp/assets.py: the 404 page, stored to answer offline
const NETWORK_TIMEOUT_MS = 3000;

self.addEventListener("install", (event) => {
  event.waitUntil(precache());
});

self.addEventListener("activate", (event) => {
  event.waitUntil(deleteUnexpectedCaches().then(() => self.clients.claim()));
});

self.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  if (type === "skip-waiting") self.skipWaiting();
  else if (type === "flush-outbox") event.waitUntil(Promise.all([flushOutbox(), reportAlive()])); // a page opened (static/js/app.js)
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate" || PAGES.has(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});

async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "no-cache" })));
}

async function deleteUnexpectedCaches() {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)));
}

/* Static files are named by their hash: a cached copy is always right. A
   module imported by a plain relative path ("./kv.js") is asked for without
   the hash; the copy precached with this version's hash is the right one. */
async function cacheFirst(request) {
  const cached = (await caches.match(request, { cacheName: CACHE })) ||
    (await caches.match(request, { cacheName: CACHE, ignoreSearch: true }));
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(CACHE);
    cache.put(request, response.clone());
  }
  return response;
}

/* Pages: fresh when the network answers in time, else the cached copy;
   an address never stored gets the "page not found" page, status 404. */
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const key = new URL(request.url);
  key.search = "";
  try {
    const response = await fetchWithTimeout(request, NETWORK_TIMEOUT_MS);
    if (response.ok && PAGES.has(key.pathname)) cache.put(key.href, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key.href);
    if (cached) return cached;
    const missing = request.mode === "navigate" && await cache.match(NOT_FOUND);
    if (!missing) throw error;
    return new Response(missing.body, { status: 404, statusText: "Not Found", headers: missing.headers });
  }
}

function fetchWithTimeout(request, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return fetch(request, { signal: controller.signal }).finally(() => clearTimeout(timer));
}

/* ---- Push reminders ---- */

const ACTIONS = {
  hydration: [{ action: "drank", title: "Drank a glass" }, { action: "snooze", title: "Snooze 30 min" }],
  stretch: [{ action: "start", title: "Start routine" }],
};
const iconUrl = (name) => PRECACHE.find((url) => url.startsWith(`/static/icons/${name}`));

self.addEventListener("push", (event) => {
  const data = readPush(event);
  event.waitUntil(Promise.all([reportAlive(), self.registration.showNotification(data.title, {
    body: data.body,
    icon: iconUrl("icon-192.png"),
    badge: iconUrl("badge-96.png"),
    tag: data.tag,
    data: { url: data.url, kind: data.kind },
    actions: ACTIONS[data.kind] || [],
  })]));
});

/* The server forgets a subscription it has not heard from in 60 days (a dead
   endpoint may still answer 201), so this device says it is here: when a
   reminder reaches it and when a page opens, at most twice a day. */
const ALIVE_EVERY_MS = 12 * 60 * 60 * 1000;

async function reportAlive() {
  const last = (await kvGet("alive-at")) || 0;
  if (Date.now() - last < ALIVE_EVERY_MS) return;
  if (await callApi("/api/reminders", "GET")) await kvSet("alive-at", Date.now());
}

function readPush(event) {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { /* not JSON: show a plain reminder */ }
  const kind = ["hydration", "stretch", "test"].includes(data.kind) ? data.kind : "test";
  return {
    kind,
    title: String(data.title || "Unknot"),
    body: String(data.body || ""),
    tag: String(data.tag || kind),
    url: sameOriginPath(data.url),
  };
}

/* Only our own pages may be opened from a notification: the URL resolved
   against our origin, kept whole (never its path alone, which may read as
   another host: "/..//evil.test" resolves to the path "//evil.test"). */
function sameOriginPath(url) {
  try {
    const resolved = new URL(typeof url === "string" && url ? url : "/", self.location.origin);
    return resolved.origin === self.location.origin ? resolved.href : "/";
  } catch {
    return "/";
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const { url, kind } = event.notification.data || {};
  event.waitUntil(handleClick(event.action, kind, url || "/"));
});

async function handleClick(action, kind, url) {
  if ((action === "drank" || action === "snooze") && await kvGet("token")) {
    // Into the outbox first, so a tap made offline is never lost; "at" makes a replay count once.
    const at = new Date().toISOString();
    const item = action === "drank"
      ? { id: at, path: "/api/log", body: { kind: "water", at } }
      : { id: at, path: "/api/reminders/snooze", body: { kind: "hydration", minutes: 30, at } };
    await kvUpdate("outbox", (list) => [...(list || []), item]);
    if (!(await flushOutbox()) && self.registration.sync) {
      await self.registration.sync.register(OUTBOX).catch(() => {}); // else: the next page open sends it
    }
    return;
  }
  return openPage(action === "start" ? "/routine/bedtime?source=reminder" : url);
}

/* ---- The outbox: notification actions waiting for the network ---- */

const OUTBOX = "unknot-outbox";

self.addEventListener("sync", (event) => {
  if (event.tag !== OUTBOX) return;
  event.waitUntil(flushOutbox().then((done) => {
    if (!done) throw new Error("still offline"); // the browser tries again later
  }));
});

/* One sender at a time (a sync and a page open may come together). True when the outbox is empty. */
function flushOutbox() {
  return self.navigator.locks ? self.navigator.locks.request(OUTBOX, sendOutbox) : sendOutbox();
}

async function sendOutbox() {
  const token = await kvGet("token");
  for (const item of (await kvGet("outbox")) || []) {
    let response = null;
    try {
      response = token && await fetch(item.path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(item.body),
      });
    } catch {
      return false; // no network yet: keep it and the ones after it
    }
    if (response && (response.status >= 500 || response.status === 429)) return false;
    // Sent, or refused for good (reminders turned off, too old): out of the outbox.
    await kvUpdate("outbox", (list) => (list || []).filter((other) => other.id !== item.id));
  }
  return true;
}

async function openPage(path) {
  const target = new URL(path, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const same = windows.find((client) => client.url === target);
  if (same) return same.focus();
  if (windows[0] && "navigate" in windows[0]) {
    const client = await windows[0].navigate(target);
    return client && client.focus();
  }
  return self.clients.openWindow(target);
}

async function callApi(path, method, body, token) {
  token = token || await kvGet("token");
  if (!token) return false;
  try {
    const response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return response.ok ? (response.status === 204 ? true : response.json()) : false;
  } catch {
    return false;
  }
}

/* The browser replaced our subscription: move the plan to the new one. */
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(resubscribe(event.oldSubscription));
});

async function resubscribe(oldSubscription) {
  const oldToken = await kvGet("token");
  const plan = oldToken && await callApi("/api/reminders", "GET", undefined, oldToken);
  const key = (oldSubscription && oldSubscription.options.applicationServerKey) ||
    (await (await fetch("/api/push/public-key")).json()).publicKey;
  const subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const timezone = (await kvGet("timezone")) || "UTC";
  const response = await fetch("/api/subscriptions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ subscription: subscription.toJSON(), timezone }),
  });
  if (!response.ok) return;
  const { token } = await response.json();
  await kvSet("token", token);
  if (plan) {
    const { next, ...whole } = plan;
    await callApi("/api/reminders", "PUT", whole, token);
  }
  if (oldToken) await callApi("/api/subscriptions/current", "DELETE", undefined, oldToken);
}

/* The page's static/js/kv.js store, read here without modules: a module
   worker could import kv.js itself, but not every browser Unknot supports
   starts a module service worker, so this classic one keeps these few lines. */
function kvRequest(mode, action) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("unknot", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("kv", mode);
      const request = action(tx.objectStore("kv"));
      tx.oncomplete = () => { db.close(); resolve(request.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    };
  });
}
const kvGet = (key) => kvRequest("readonly", (store) => store.get(key));
/* Read, change and write one value in a single transaction, so two updates never lose each other's items. */
const kvUpdate = (key, change) => kvRequest("readwrite", (store) => {
  const request = store.get(key);
  request.onsuccess = () => store.put(change(request.result), key);
  return request;
});
const kvSet = (key, value) => kvRequest("readwrite", (store) => store.put(value, key));
