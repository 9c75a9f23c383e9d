/* Unknot's service worker. The server (webapp/web/assets.py) injects VERSION
   and PRECACHE (hashes of the files it serves), the app's reminder KINDS and
   kv, the pages' own static/js/kv.js, so any change ships a new worker. The
   page, not the worker, decides when a new version takes over: see
   static/js/app.js.
   A classic worker, not a module one, on purpose: not every browser Unknot
   supports starts a module service worker, so kv.js comes inlined by the
   server rather than imported. */
const VERSION = "__UNKNOT_VERSION__";
const PRECACHE = [/*__UNKNOT_PRECACHE__*/];
/* {name: {title, url, label, actions: [{action, title, open: path} | {action, title, post: {path, body}}]}},
   from webapp/reminders/kinds.py */
const KINDS = {/*__UNKNOT_KINDS__*/};
const kv = {/*__UNKNOT_KV__*/}; // get, set, remove, update
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

const iconUrl = (name) => PRECACHE.find((url) => url.startsWith(`/static/icons/${name}`));

self.addEventListener("push", (event) => {
  const data = readPush(event);
  event.waitUntil(Promise.all([reportAlive(), self.registration.showNotification(data.title, {
    body: data.body,
    icon: iconUrl("icon-192.png"),
    badge: iconUrl("badge-96.png"),
    tag: data.tag,
    data: { url: data.url, kind: data.kind },
    actions: data.kind ? KINDS[data.kind].actions.map(({ action, title }) => ({ action, title })) : [],
  })]));
});

/* The server forgets a subscription it has not heard from in 60 days (a dead
   endpoint may still answer 201), so this device says it is here: when a
   reminder reaches it and when a page opens, at most twice a day. */
const ALIVE_EVERY_MS = 12 * 60 * 60 * 1000;

async function reportAlive() {
  const last = (await kv.get("alive-at")) || 0;
  if (Date.now() - last < ALIVE_EVERY_MS) return;
  if (await callApi("/api/reminders", "GET")) await kv.set("alive-at", Date.now());
}

function readPush(event) {
  let data = {};
  try { data = (event.data && event.data.json()) || {}; } catch { /* not JSON: show a plain reminder */ }
  const kind = Object.hasOwn(KINDS, data.kind) ? data.kind : null; // unknown: no actions
  return {
    kind,
    title: String(data.title || (kind && KINDS[kind].title) || "Unknot"),
    body: String(data.body || ""),
    tag: String(data.tag || kind || "unknot"),
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

/* A button of the kind's (KINDS): "open" opens one of our pages, "post" sends an
   API call; a tap on the notification itself, or a "post" without a token, opens its url. */
async function handleClick(action, kind, url) {
  const chosen = action && Object.hasOwn(KINDS, kind) && KINDS[kind].actions.find((a) => a.action === action);
  if (chosen && chosen.post && await kv.get("token")) {
    // Into the outbox first, so a tap made offline is never lost; "at" makes a replay count once.
    const at = new Date().toISOString();
    const item = { id: at, path: chosen.post.path, body: { ...chosen.post.body, at } };
    await kv.update("outbox", (list) => [...(list || []), item]);
    if (!(await flushOutbox()) && self.registration.sync) {
      await self.registration.sync.register(OUTBOX).catch(() => {}); // else: the next page open sends it
    }
    return;
  }
  return openPage((chosen && chosen.open) || url);
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
  const token = await kv.get("token");
  for (const item of (await kv.get("outbox")) || []) {
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
    await kv.update("outbox", (list) => (list || []).filter((other) => other.id !== item.id));
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
  token = token || await kv.get("token");
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
  const oldToken = await kv.get("token");
  const plan = oldToken && await callApi("/api/reminders", "GET", undefined, oldToken);
  const key = (oldSubscription && oldSubscription.options.applicationServerKey) ||
    (await (await fetch("/api/push/public-key")).json()).publicKey;
  const subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const timezone = (await kv.get("timezone")) || "UTC";
  const response = await fetch("/api/subscriptions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ subscription: subscription.toJSON(), timezone }),
  });
  if (!response.ok) return;
  const { token } = await response.json();
  await kv.set("token", token);
  if (plan) {
    const { next, ...whole } = plan;
    await callApi("/api/reminders", "PUT", whole, token);
  }
  if (oldToken) await callApi("/api/subscriptions/current", "DELETE", undefined, oldToken);
}
