// /reminders: subscribe after a tap, edit the plan, test, snooze, turn off.
import * as kv from "./kv.js";

const $ = (id) => document.getElementById(id);
/* {name: {title, url, label, actions}}: the server's reminder kinds (webapp/reminders/kinds.py). */
const KINDS = JSON.parse($("reminders").dataset.kinds);
const show = (id, on = true) => { $(id).hidden = !on; };
const deviceZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

async function api(path, { method = "GET", body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error((data && data.message) || `The server answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/* Times in the person's own clock (12 or 24 hours, from the browser's
   locale), as the time inputs show them; never broken across two lines. */
const clock = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const clockTime = (date) => clock.format(date).replace(/\s/g, "\u00a0");
const clockOf = (hhmm) => clockTime(new Date(2000, 0, 1, Number(hhmm.slice(0, 2)), Number(hhmm.slice(3, 5))));

function formatNext(iso) {
  if (!iso) return "none planned";
  const when = new Date(iso);
  const sameDay = when.toDateString() === new Date().toDateString();
  const time = clockTime(when);
  return sameDay ? `today at ${time}` : `${when.toLocaleDateString([], { weekday: "long" })} at ${time}`;
}

/* The settings by the names the form gives them, never "quiet.from". */
const LABELS = {
  timezone: "Time zone", "hydration.every_minutes": "How often", "hydration.from": "Water reminders from",
  "hydration.until": "Water reminders until", "hydration.goal_glasses": "Daily goal", "stretch.at": "Bedtime stretch",
  "quiet.from": "Quiet hours from", "quiet.until": "Quiet hours until",
};

/* A server message ("quiet.from: …", times as HH:MM) in the person's words and clock. */
function inWords(message) {
  const [, field, rest] = message.match(/^([a-z_.]+): ([\s\S]*)$/) || [null, null, message];
  const text = rest
    .replace(/“([a-z_]+\.[a-z_]+)”/g, (whole, name) => (LABELS[name] ? `“${LABELS[name]}”` : whole))
    .replace(/\b([01]\d|2[0-3]):[0-5]\d\b/g, clockOf);
  return LABELS[field] ? `${LABELS[field]}: ${text}` : text;
}

/* Caught before sending: a time left empty. */
function missingTime(form) {
  const empty = [...form.querySelectorAll('input[type="time"][required]')].find((input) => !input.value && input.name !== "stretch.at");
  return empty && `${LABELS[empty.name]}: choose a time.`;
}

/* The next time of each kind the schedule plans (the keys of "next"), in the kinds' order. */
function renderNext(next) {
  const list = $("next");
  list.replaceChildren();
  for (const [kind, { label }] of Object.entries(KINDS).filter(([kind]) => kind in next)) {
    const row = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = `${label}:`;
    dd.textContent = formatNext(next[kind]);
    row.append(dt, dd);
    list.append(row);
  }
}

function fillForm(plan) {
  const form = $("plan");
  form.elements["hydration.enabled"].checked = plan.hydration.enabled;
  const every = form.elements["hydration.every_minutes"];
  if (![...every.options].some((o) => Number(o.value) === plan.hydration.every_minutes)) {
    every.add(new Option(`${plan.hydration.every_minutes} minutes`, plan.hydration.every_minutes));
  }
  every.value = String(plan.hydration.every_minutes);
  form.elements["hydration.from"].value = plan.hydration.from;
  form.elements["hydration.until"].value = plan.hydration.until;
  form.elements["hydration.goal_glasses"].value = plan.hydration.goal_glasses;
  form.elements["hydration.fluid_limited"].checked = Boolean(plan.hydration.fluid_limited);
  showFluidPlan();
  form.elements["stretch.enabled"].checked = plan.stretch.enabled;
  form.elements["stretch.at"].value = plan.stretch.at[0] || "21:30";
  form.elements["quiet.from"].value = plan.quiet.from;
  form.elements["quiet.until"].value = plan.quiet.until;
  $("tz").textContent = plan.timezone;
  renderNext(plan.next);
  rememberQuietHours(plan.quiet);
}

/* The night theme (theme.js) dims every page in the quiet hours. */
function rememberQuietHours({ from, until }) {
  const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  try { localStorage.setItem("unknot-quiet-hours", JSON.stringify([minutes(from), minutes(until)])); } catch { /* private mode */ }
  window.unknotTheme?.apply();
}

/* The plan as the form sets it. Sections the form does not show (a kind
   added to the registry, webapp/reminders/kinds.py) are kept as stored. */
function readForm(previous) {
  const f = $("plan").elements;
  const at = f["stretch.at"].value;
  const { next, ...stored } = previous;
  return {
    ...stored,
    timezone: deviceZone(),
    hydration: {
      enabled: f["hydration.enabled"].checked,
      every_minutes: Number(f["hydration.every_minutes"].value),
      from: f["hydration.from"].value,
      until: f["hydration.until"].value,
      goal_glasses: Number(f["hydration.goal_glasses"].value || 0),
      fluid_limited: f["hydration.fluid_limited"].checked,
    },
    stretch: { enabled: f["stretch.enabled"].checked, at: at ? [at, ...previous.stretch.at.slice(1)] : [] },
    quiet: { from: f["quiet.from"].value, until: f["quiet.until"].value },
  };
}

/* "My doctor limits how much I drink": the water settings and goal give way
   to "follow your fluid plan"; the diary's water counter reads the same choice. */
const FLUID_KEY = "unknot-fluid-limited";
function showFluidPlan() {
  const limited = $("plan").elements["hydration.fluid_limited"].checked;
  const fieldset = $("fluid-plan").closest("fieldset");
  for (const el of fieldset.children) if (!el.matches("legend, .fluid-keep")) el.hidden = limited;
  $("fluid-plan").hidden = !limited;
  try { localStorage.setItem(FLUID_KEY, String(limited)); } catch { /* this device only */ }
}

/* A goal over about 3 litres a day (EFSA's adequate intake is 1.6–2 L from
   drinks) is saved only when asked twice. */
let confirmedGoal = null;
function goalNeedsConfirming(plan) {
  const tip = $("water-tip");
  const goal = plan.hydration.goal_glasses;
  if (plan.hydration.fluid_limited || goal <= Number(tip.dataset.goalMax) || goal === confirmedGoal) return false;
  confirmedGoal = goal;
  $("plan-status").textContent = tip.dataset.goalConfirm;
  return true;
}

async function showPlan(token) {
  const plan = await api("/api/reminders", { token });
  fillForm(plan);
  show("off", false);
  show("plan");
  return plan;
}

async function subscribe() {
  const status = $("enable-status");
  status.textContent = "Asking for permission…";
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    status.textContent = "";
    if (permission === "denied") blocked();
    return;
  }
  status.textContent = "Turning reminders on…";
  const registration = await navigator.serviceWorker.ready;
  const { publicKey } = await api("/api/push/public-key");
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(publicKey),
  });
  const { token } = await api("/api/subscriptions", {
    method: "POST",
    body: { subscription: subscription.toJSON(), timezone: deviceZone() },
  });
  await kv.set("token", token);
  await kv.set("timezone", deviceZone());
  status.textContent = "";
  await showPlan(token);
  $("plan-status").textContent = "Reminders are on. Choose when below.";
}

async function unsubscribe(token) {
  await api("/api/subscriptions/current", { method: "DELETE", token }).catch(() => {});
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription();
  if (subscription) await subscription.unsubscribe();
  await kv.remove("token");
  show("plan", false);
  show("off");
  $("enable-status").textContent = "Reminders are off.";
}

/* What each API call a button makes has done, in words. */
const DONE = {
  "/api/log": (result) => `Logged. ${result.today} glass${result.today === 1 ? "" : "es"} today.`,
  "/api/reminders/snooze": (result, body) => `Snoozed: next reminder ${formatNext(result.next[body.kind])}.`,
};

/* /reminders?act=<kind> (a notification's page): the kind's buttons, as on the notification. */
function wireActions(token) {
  const kind = KINDS[new URLSearchParams(location.search).get("act")];
  if (!kind || !kind.actions.length || !token) return;
  const say = (text) => { $("act-status").textContent = text; };
  $("act-heading").textContent = kind.title;
  $("act-buttons").replaceChildren(...kind.actions.map((action, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action.title;
    if (i > 0) button.className = "quiet-button";
    button.addEventListener("click", async () => {
      if (action.open) return location.assign(action.open);
      try {
        const { path, body } = action.post;
        const result = await api(path, { method: "POST", token, body });
        say(DONE[path] ? DONE[path](result, body) : "Done.");
        renderNext(result.next);
      } catch (error) { say(error.message); }
    });
    return button;
  }));
  show("act");
}

/* Blocked: the button that cannot work goes, the way back shows. */
function blocked() {
  show("denied");
  show("enable", false);
}

async function main() {
  show("needs-js", false);
  const ios = /iphone|ipad|ipod/i.test(navigator.userAgent);
  const standalone = navigator.standalone || matchMedia("(display-mode: standalone)").matches;
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    show(ios && !standalone ? "ios-install" : "unsupported");
    return;
  }
  let token = await kv.get("token");
  let plan = null;
  if (token) {
    try {
      plan = await showPlan(token);
    } catch (error) {
      if (error.status !== 401) throw error;
      await kv.remove("token");
      token = null;
    }
  }
  if (!token) show("off");
  if (Notification.permission === "denied") blocked();
  wireActions(token);

  $("plan").elements["hydration.fluid_limited"].addEventListener("change", showFluidPlan);
  $("enable").addEventListener("click", () => subscribe().catch((error) => {
    $("enable-status").textContent = `Could not turn reminders on: ${error.message}`;
  }));
  $("plan").addEventListener("submit", async (event) => {
    event.preventDefault();
    token = await kv.get("token");
    try {
      const missing = missingTime($("plan"));
      if (missing) throw new Error(missing);
      const wanted = readForm(plan || await api("/api/reminders", { token }));
      if (goalNeedsConfirming(wanted)) return;
      plan = await api("/api/reminders", { method: "PUT", token, body: wanted });
      fillForm(plan);
      $("plan-status").textContent = "Saved.";
    } catch (error) {
      $("plan-status").textContent = `Not saved. ${inWords(error.message)}`;
    }
  });
  $("test").addEventListener("click", async () => {
    try {
      await api("/api/reminders/test", { method: "POST", token: await kv.get("token") });
      $("plan-status").textContent = "A test reminder is on its way.";
    } catch (error) {
      $("plan-status").textContent = error.message;
    }
  });
  $("disable").addEventListener("click", async () => unsubscribe(await kv.get("token")));
}

main().catch((error) => console.warn("reminders:", error));
