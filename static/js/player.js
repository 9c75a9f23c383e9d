// The stretch player. It reads the steps the server already rendered (a
// guide, or the bedtime routine) and runs them full screen: one instruction
// at a time, timed, spoken if wished, with the screen kept awake. Time is
// kept as deadlines (Date.now()), so a sleeping tab or a locked screen
// catches up on the right step instead of drifting.

const root = document.documentElement;
const launch = document.getElementById("player");
const bedtime = launch?.dataset.routine === "bedtime";
const SETTINGS_KEY = "unknot-player";
const DEFAULTS = { auto: true, factor: 1, voice: false, vibrate: true, tone: false, set: "standing", long: false };
const FACTORS = [0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
const READY_SECONDS = 5; // an untimed step, when the player moves on by itself
const SETUP_SECONDS = 10; // getting into position for a bedtime stretch
const EXTRA_MS = 15000;

const store = {
  get(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
  },
  set(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* private mode: this visit only */ }
  },
};

let settings = { ...DEFAULTS, ...store.get(SETTINGS_KEY, {}) };
let run = null; // the routine on screen
let lastRun = null; // kept after it ends, for "Log this cramp"
let timer = 0;

/* ---------- Steps, read from the page ---------- */

const textOf = (el) => el.textContent.replace(/\s+/g, " ").trim();

function guideSteps() {
  return ["routine", "aftercare"].flatMap((id) => {
    const section = document.getElementById(id);
    if (!section) return [];
    return [...section.querySelectorAll("li.step")].map((li) => {
      const seconds = Number(li.dataset.hold) || 0;
      return { phase: section.dataset.title, kind: seconds ? "hold" : "step", text: textOf(li.querySelector(".step-text")), seconds };
    });
  });
}

/* Each stretch, each leg (left, then right): get into position, then
   hold × reps with a rest between, as in the trial the routine follows. */
function bedtimeSteps() {
  const section = document.getElementById(`routine-${settings.set}`);
  const d = section.dataset;
  const [reps, hold, rest] = settings.long ? [1, +d.longHold, 0] : [+d.reps, +d.hold, +d.rest];
  return [...section.querySelectorAll(".stretch")].flatMap((stretch) => {
    const name = textOf(stretch.querySelector("h3"));
    const lines = [...stretch.querySelectorAll(".setup li")].map(textOf);
    const holdText = textOf(stretch.querySelector(".hold-text"));
    return ["Left leg", "Right leg"].flatMap((leg) => {
      const phase = `${name} · ${leg}`;
      const steps = [{ phase, kind: "setup", leg, lines, text: lines.join(" "), seconds: 0 }];
      for (let rep = 1; rep <= reps; rep++) {
        if (rep > 1) steps.push({ phase, kind: "rest", text: "Rest. Ease off and breathe.", seconds: rest });
        steps.push({ phase, kind: "hold", text: holdText, seconds: hold, rep, reps });
      }
      return steps;
    });
  });
}

/* Milliseconds a step lasts; 0 means it waits for a tap. */
function durationOf(step) {
  const base = step.seconds || (settings.auto ? (step.kind === "setup" ? SETUP_SECONDS : READY_SECONDS) : 0);
  return Math.round(base * settings.factor * 1000);
}

/* ---------- Cues: voice, vibration, tone, wake lock (all optional, all quiet on failure) ---------- */

const synth = window.speechSynthesis || null;
let voice = null;

/* A local voice in the page's language, or none: a foreign voice garbles the
   words, and a network voice fails offline. */
function pickVoice() {
  const lang = (root.lang || "en").toLowerCase();
  const voices = synth.getVoices().filter((v) => v.lang.toLowerCase().startsWith(lang));
  return voices.find((v) => v.localService) || voices[0] || null;
}

function speak(text) {
  if (!synth || !settings.voice) return;
  voice ||= pickVoice();
  if (!voice) return; // no voice for this language (yet): the screen says it all
  synth.cancel();
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.voice = voice;
  utterance.lang = voice.lang;
  utterance.rate = 0.9;
  synth.speak(utterance);
}

let audio = null;
function tone(frequency = 440) {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!settings.tone || !Context) return;
  audio ||= new Context();
  audio.resume();
  const t = audio.currentTime;
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.frequency.value = frequency;
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.06, t + 0.04); // soft attack and fade: no click
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.7);
  osc.connect(gain).connect(audio.destination);
  osc.start(t);
  osc.stop(t + 0.75);
}

function buzz(pattern) {
  if (settings.vibrate && navigator.vibrate) navigator.vibrate(pattern);
}

let lock = null;
let wantLock = false;
async function keepAwake(on) {
  wantLock = on;
  if (!on) {
    const held = lock;
    lock = null;
    return held?.release().catch(() => {});
  }
  if (lock || !navigator.wakeLock || document.visibilityState !== "visible") return;
  try {
    const sentinel = await navigator.wakeLock.request("screen");
    sentinel.addEventListener("release", () => { if (lock === sentinel) lock = null; });
    lock = sentinel;
    if (!wantLock) keepAwake(false); // paused while the request was pending
  } catch { /* refused (battery saver, no permission): the timer still works */ }
}

/* ---------- The player dialog ---------- */

const dialog = document.createElement("dialog");
dialog.className = "player";
dialog.innerHTML = `
<div class="pl-run" data-el="run">
  <div class="pl-top">
    <button type="button" class="pl-stop" data-act="stop">Stop</button>
    <p class="pl-count" data-el="count"></p>
  </div>
  <div class="pl-bar" aria-hidden="true"><span data-el="bar"></span></div>
  <div class="pl-stage" data-el="stage">
    <p class="pl-phase" data-el="phase"></p>
    <div class="pl-text" data-el="text"></div>
  </div>
  <div class="pl-timer" role="timer" data-el="timer"><span class="pl-num" data-el="num"></span> <span class="pl-unit" data-el="unit"></span></div>
  <p class="pl-sr" aria-live="polite" data-el="live"></p>
  <div class="pl-controls">
    <button type="button" class="pl-extend" data-act="extend">${bedtime ? "Hold longer: +15 s" : "Still cramping: +15 s"}</button>
    <button type="button" class="pl-nav" data-act="back">Back</button>
    <button type="button" class="pl-pause" data-act="pause" data-el="pause">Pause</button>
    <button type="button" class="pl-nav" data-act="next" data-el="next">Next</button>
  </div>
</div>
<div class="pl-done" data-el="done" hidden>
  <h2 class="pl-done-title" tabindex="-1" data-el="doneTitle"></h2>
  <p class="pl-done-text" data-el="doneText"></p>
  <div data-el="slot"></div>
  <button type="button" class="pl-close" data-act="close">Close</button>
</div>`;
const ui = Object.fromEntries([...dialog.querySelectorAll("[data-el]")].map((el) => [el.dataset.el, el]));

const ACTIONS = { stop: () => dialog.close(), close: () => dialog.close(), extend, back: () => go(-1), next: () => go(1), pause: togglePause };
dialog.addEventListener("click", (event) => {
  const button = event.target.closest("[data-act]");
  if (button) ACTIONS[button.dataset.act]();
});
dialog.addEventListener("close", end); // Stop, Close, or Escape

function start() {
  const steps = bedtime ? bedtimeSteps() : guideSteps();
  if (!steps.length) return;
  run = lastRun = { steps, index: 0, startedAt: Date.now(), endedAt: 0, deadline: null, left: null, paused: false, over: false, done: false };
  root.dataset.playing = "";
  ui.run.hidden = false;
  ui.done.hidden = true;
  dialog.setAttribute("aria-label", textOf(document.querySelector("h1")));
  dialog.showModal();
  keepAwake(true);
  enter(0, Date.now());
  (settings.auto ? ui.pause : ui.next).focus();
}

/* Show step `index`, its time counted from `at`; `quiet` skips the cues
   (steps passed over while the tab slept are not worth announcing). */
function enter(index, at, quiet = false) {
  const step = run.steps[index];
  const ms = durationOf(step);
  run.index = index;
  run.over = false;
  run.left = run.paused ? ms || null : null;
  run.deadline = !run.paused && ms ? at + ms : null;
  if (!quiet) announce(step);
  render();
}

function announce(step) {
  const { index, steps } = run;
  const timing = step.seconds ? ` ${step.kind === "rest" ? "Rest" : "Hold"} ${Math.round(durationOf(step) / 1000)} seconds.` : "";
  ui.live.textContent = `Step ${index + 1} of ${steps.length}. ${step.leg ? `${step.leg}. ` : ""}${step.text}${timing}`;
  speak(step.leg ? `${step.leg}. ${step.text}` : step.text + timing);
  buzz(60);
  tone(step.kind === "rest" ? 392 : 440);
}

/* Catch up with the clock: pass every step whose time is over. */
function tick() {
  if (!run || run.paused || run.done) return;
  const now = Date.now();
  let moved = false;
  while (run.deadline !== null && now >= run.deadline) {
    if (!settings.auto) {
      run.deadline = null;
      run.over = true;
      ui.live.textContent = "Time is up. Tap Next when you are ready.";
      speak("Time is up.");
      buzz([60, 80, 60]);
      break;
    }
    if (run.index === run.steps.length - 1) return finish();
    enter(run.index + 1, run.deadline, true);
    moved = true;
  }
  if (moved) announce(run.steps[run.index]);
  render();
}

/* Wake at the next change of the displayed second, not on a fixed beat. */
function schedule() {
  clearTimeout(timer);
  if (!run || run.paused || run.deadline === null) return;
  const left = run.deadline - Date.now();
  timer = setTimeout(tick, Math.max(1, left - Math.floor((left - 1) / 1000) * 1000));
}

function go(delta) {
  const index = run.index + delta;
  if (index >= run.steps.length) return finish();
  enter(Math.max(0, index), Date.now());
}

function extend() {
  const now = Date.now();
  if (run.paused) run.left = (run.left || 0) + EXTRA_MS;
  else run.deadline = (run.deadline ?? now) + EXTRA_MS;
  run.over = false;
  ui.live.textContent = "15 more seconds.";
  render();
}

function togglePause() {
  const now = Date.now();
  run.paused = !run.paused;
  if (run.paused) {
    run.left = run.deadline === null ? null : run.deadline - now;
    run.deadline = null;
    synth?.cancel();
  } else {
    run.deadline = run.left === null ? null : now + run.left;
  }
  keepAwake(!run.paused);
  ui.live.textContent = run.paused ? "Paused." : "Resumed.";
  render();
  tick();
}

function finish() {
  run.done = true;
  run.endedAt = Date.now();
  clearTimeout(timer);
  keepAwake(false);
  delete root.dataset.playing;
  if (bedtime) {
    const nights = store.get("unknot-routines", []);
    store.set("unknot-routines", [...(Array.isArray(nights) ? nights : []), new Date(run.endedAt).toISOString()].slice(-400));
  }
  showDone();
}

/* Stopped (or closed after the end): let go of everything the run held. */
function end() {
  clearTimeout(timer);
  synth?.cancel();
  keepAwake(false);
  delete root.dataset.playing;
  if (run && !run.done) run.endedAt = Date.now();
  run = null;
  if (checksHome) checksHome.after(checks);
}

/* ---------- Rendering ---------- */

function formatSeconds(s) {
  return s < 60 ? String(s) : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function render() {
  const { steps, index, paused } = run;
  const step = steps[index];
  ui.count.textContent = `Step ${index + 1} of ${steps.length}`;
  ui.bar.style.transform = `scaleX(${(index + 1) / steps.length})`;
  ui.phase.textContent = step.kind === "hold" && step.reps > 1 ? `${step.phase} · hold ${step.rep} of ${step.reps}` : step.phase;
  renderText(step);
  dialog.dataset.kind = step.kind;
  ui.pause.textContent = paused ? "Resume" : "Pause";
  ui.next.textContent = index === steps.length - 1 ? "Finish" : "Next";
  renderTimer(step);
  schedule();
}

function renderText(step) {
  if (ui.text.dataset.shown === step.text) return; // keep the node: no flicker, no re-read
  ui.text.dataset.shown = step.text;
  if (step.lines) {
    const list = document.createElement("ol");
    list.append(...step.lines.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
    ui.text.replaceChildren(list);
  } else {
    ui.text.replaceChildren(Object.assign(document.createElement("p"), { textContent: step.text }));
  }
}

function renderTimer(step) {
  const ms = run.paused ? run.left : run.deadline !== null ? run.deadline - Date.now() : null;
  const seconds = ms === null ? null : Math.max(0, Math.ceil(ms / 1000));
  let unit;
  if (seconds === null) unit = run.over ? "Time is up · tap Next" : "Tap Next when ready";
  else if (run.paused) unit = "paused";
  else if (step.kind === "rest") unit = "seconds of rest";
  else if (!step.seconds) unit = "until the next step";
  else unit = seconds < 60 ? "seconds left" : "left";
  ui.num.textContent = seconds === null ? (run.over ? "0" : "–") : formatSeconds(seconds);
  ui.unit.textContent = unit;
  ui.timer.classList.toggle("is-idle", seconds === null && !run.over);
  ui.timer.classList.toggle("is-paused", run.paused);
  ui.next.classList.toggle("is-ready", seconds === null && !run.paused);
}

/* The end: after-care checks for a cramp, a good-night for the routine. */
const checks = document.getElementById("checks");
let checksHome = null;

function showDone() {
  const minutes = Math.floor((run.endedAt - run.startedAt) / 60000);
  const seconds = Math.round(((run.endedAt - run.startedAt) % 60000) / 1000);
  ui.run.hidden = true;
  ui.done.hidden = false;
  if (bedtime) {
    const week = store.get("unknot-routines", []).filter((at) => Date.now() - Date.parse(at) < 7 * 864e5).length;
    ui.doneTitle.textContent = "Routine done. Sleep well.";
    ui.doneText.textContent = `That is ${week} of the last 7 nights.`;
    speak("All done. Sleep well.");
  } else {
    ui.doneTitle.textContent = "Well done.";
    ui.doneText.textContent = `You stretched for ${minutes ? `${minutes} min ` : ""}${seconds} s. Three quick checks before you sleep:`;
    if (checks) {
      checksHome ||= document.createComment("checks");
      checks.before(checksHome);
      ui.slot.append(checks);
    }
    speak("Well done. Three quick checks before you sleep.");
  }
  buzz([60, 80, 60]);
  tone(523);
  ui.doneTitle.focus();
}

/* ---------- The page around the player ---------- */

/* Without JavaScript every answer's advice shows; here only after "Yes". */
function enhanceChecks() {
  const form = document.getElementById("check-form");
  if (!form) return;
  const update = () => {
    for (const fieldset of form.querySelectorAll(".check")) {
      const yes = fieldset.querySelector('input[value="yes"]').checked;
      fieldset.querySelector(".advice").hidden = !yes;
      fieldset.classList.toggle("is-yes", yes);
    }
  };
  form.addEventListener("change", update);
  update();
}

/* Hand the cramp to the diary; the link itself then opens it. */
function enhanceLog() {
  document.getElementById("log-cramp")?.addEventListener("click", () => {
    const started = lastRun?.startedAt ?? Date.now();
    const ended = lastRun ? lastRun.endedAt || Date.now() : started;
    store.set("unknot-pending-cramp", {
      at: new Date(started).toISOString(),
      muscle: document.getElementById("routine")?.dataset.routine ?? null,
      side: null,
      seconds: Math.round((ended - started) / 1000),
    });
  });
}

function hourOptions(selected) {
  return Array.from({ length: 24 }, (_, h) =>
    `<option value="${h}"${h === selected ? " selected" : ""}>${String(h).padStart(2, "0")}:00</option>`).join("");
}

function buildSettings() {
  const [from, until] = store.get("unknot-night-hours", [21, 7]);
  const panel = launch.querySelector(".player-settings");
  panel.insertAdjacentHTML("beforeend", `
<fieldset><legend>After each step</legend>
  <label><input type="radio" name="auto" value="1"> Move on by itself</label>
  <label><input type="radio" name="auto" value=""> Wait for me to tap Next</label>
</fieldset>
<label class="pl-field">Hold times
  <select name="factor">${FACTORS.map((f) => `<option value="${f}">${f === 1 ? "As written" : `× ${f}`}</option>`).join("")}</select></label>
${synth ? '<label><input type="checkbox" name="voice"> Read each step aloud</label>' : ""}
<label><input type="checkbox" name="vibrate"> Vibrate at each step</label>
<label><input type="checkbox" name="tone"> Soft tone at each step</label>
<fieldset><legend>Dim night colours</legend>
  <label class="pl-field">From <select name="nightFrom">${hourOptions(from)}</select></label>
  <label class="pl-field">until <select name="nightUntil">${hourOptions(until)}</select></label>
</fieldset>`);
}

/* Reflect the saved settings in every control of the launch area. */
function showSettings() {
  for (const input of launch.querySelectorAll("input, select")) {
    const value = settings[input.name];
    if (value === undefined) continue;
    if (input.type === "checkbox") input.checked = Boolean(value);
    else if (input.type === "radio") input.checked = input.value === (typeof value === "boolean" ? (value ? "1" : "") : value);
    else input.value = String(value);
  }
}

function saveSetting(input) {
  const { name } = input;
  if (name === "nightFrom" || name === "nightUntil") {
    const hours = ["nightFrom", "nightUntil"].map((n) => Number(launch.querySelector(`[name=${n}]`).value));
    store.set("unknot-night-hours", hours);
    return applyNight(hours);
  }
  if (input.type === "checkbox") settings[name] = input.checked;
  else if (name === "auto") settings.auto = input.value === "1";
  else if (name === "factor") settings.factor = Number(input.value);
  else settings[name] = input.value;
  store.set(SETTINGS_KEY, settings);
}

/* The same rule as theme.js, applied again when the hours change. */
function applyNight([from, until]) {
  let chosen = null;
  try { chosen = localStorage.getItem("unknot-theme"); } catch { /* follow the system */ }
  const hour = new Date().getHours();
  const atNight = from > until ? hour >= from || hour < until : hour >= from && hour < until;
  const dark = matchMedia("(prefers-color-scheme: dark)").matches;
  if (chosen !== "light" && (atNight || dark || chosen === "dark")) root.dataset.theme = "night";
  else if (chosen) root.dataset.theme = chosen;
  else delete root.dataset.theme;
}

function init() {
  enhanceChecks();
  enhanceLog();
  if (!launch) return;
  buildSettings();
  showSettings();
  launch.addEventListener("change", (event) => saveSetting(event.target));
  launch.querySelector("[data-start]").addEventListener("click", start);
  launch.classList.add("is-ready");
  document.body.append(dialog);
  if (synth) synth.addEventListener?.("voiceschanged", () => { voice = pickVoice(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible" || !run) return;
    if (wantLock) keepAwake(true); // the system drops the lock when the screen goes off
    tick();
  });
}

init();
