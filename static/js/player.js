// The stretch player. It reads the steps the server rendered (a guide or the
// bedtime routine) and runs them full screen: one instruction at a time,
// timed, spoken if wished, screen kept awake. Time is kept as deadlines
// (Date.now()), so a sleeping tab or a locked screen catches up on the right
// step instead of drifting.

const root = document.documentElement;
const launch = document.getElementById("player");
const bedtime = launch?.dataset.routine === "bedtime";
const checks = document.getElementById("checks");
const KEY = "unknot-player";
const FACTORS = [0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
const READY = { step: 5, setup: 10 }; // seconds for an untimed step when moving on by itself
const EXTRA_MS = 15000;
const LONG_MS = 10 * 60e3; // a cramp this long needs help the same day (triage: long-cramp)

const store = {
  get(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
  },
  set(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* private mode: this visit only */ }
  },
};

// A hold's end is heard by default: a soft tone, and a short spoken cue where a voice exists.
const settings = { advance: "auto", factor: 1, voice: false, cue: true, vibrate: true, tone: true, set: "standing", long: false, ...store.get(KEY, {}) };
let run = null; // the routine on screen
let lastRun = null; // kept after it ends, for "Log this cramp"
let timer = 0;

/* ---------- Steps, read from the page ---------- */

const textOf = (el) => el.textContent.replace(/\s+/g, " ").trim();
const $$ = (parent, selector) => [...parent.querySelectorAll(selector)];

function guideSteps() {
  return $$(document, "#routine, #aftercare").flatMap((section) => $$(section, "li.step").map((li) => {
    const seconds = Number(li.dataset.hold) || 0;
    return { phase: section.dataset.title, kind: seconds ? "hold" : "step", text: textOf(li.querySelector(".step-text")), seconds, standing: "standing" in li.dataset };
  }));
}

/* Each stretch, each leg (left, then right): get into position, then
   `reps` holds with a rest between, as in the trial the routine follows. */
function bedtimeSteps() {
  const section = document.getElementById(`routine-${settings.set}`);
  const d = section.dataset;
  const [reps, hold, rest] = settings.long ? [1, +d.longHold, 0] : [+d.reps, +d.hold, +d.rest];
  return $$(section, ".stretch").flatMap((stretch) => {
    const lines = $$(stretch, ".setup li").map(textOf);
    const holdText = textOf(stretch.querySelector(".hold-text"));
    return ["Left leg", "Right leg"].flatMap((leg) => {
      const phase = `${textOf(stretch.querySelector("h3"))} · ${leg}`;
      const steps = [{ phase, kind: "setup", leg, lines, text: lines.join(" "), seconds: 0, standing: settings.set === "standing" }];
      for (let rep = 1; rep <= reps; rep++) {
        if (rep > 1) steps.push({ phase, kind: "rest", text: "Rest. Ease off and breathe.", seconds: rest });
        steps.push({ phase, kind: "hold", text: holdText, seconds: hold, rep, reps });
      }
      return steps;
    });
  });
}

/* Milliseconds a step lasts, scaled by the user's factor; 0: it waits for a tap. */
function durationOf(step) {
  const base = step.seconds || (settings.advance === "auto" ? READY[step.kind] ?? READY.step : 0);
  return Math.round(base * settings.factor * 1000);
}

/* ---------- Cues: voice, vibration, tone, wake lock (all optional, quiet on failure) ---------- */

const synth = window.speechSynthesis;
let voice = null;

/* A local voice in the page's language, or none: a foreign voice garbles
   the words, and a network voice fails offline. */
function pickVoice() {
  const lang = (root.lang || "en").toLowerCase().split("-")[0];
  const voices = synth.getVoices().filter((v) => v.lang.toLowerCase().startsWith(lang));
  return voices.find((v) => v.localService) || voices[0] || null;
}

function speak(text, wanted = settings.voice) {
  if (!synth || !wanted || !(voice ||= pickVoice())) return; // no voice (yet): the screen says it all
  synth.cancel();
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.voice = voice;
  utterance.lang = voice.lang;
  utterance.rate = 0.9;
  synth.speak(utterance);
}

/* iOS lets a page make a sound only once a tap has started its audio: the Start tap does. */
let audio = null;
function unlockAudio() {
  if (!settings.tone || !window.AudioContext) return;
  audio ||= new AudioContext();
  audio.resume().catch(() => {});
}

function tone(hz) {
  if (!settings.tone || !audio) return;
  audio.resume().catch(() => {});
  const t = audio.currentTime;
  const osc = new OscillatorNode(audio, { frequency: hz });
  const gain = new GainNode(audio);
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.06, t + 0.04); // soft in, soft out: no click
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.7);
  osc.connect(gain).connect(audio.destination);
  osc.start(t);
  osc.stop(t + 0.75);
}

const buzz = (pattern) => settings.vibrate && navigator.vibrate?.(pattern);

let lock = null;
let wantLock = false;
let asking = false;
async function keepAwake(on) {
  wantLock = on;
  if (!on) return lock?.release().catch(() => {});
  if (asking || (lock && !lock.released) || !navigator.wakeLock || document.visibilityState !== "visible") return;
  asking = true;
  try {
    lock = await navigator.wakeLock.request("screen");
    if (!wantLock) lock.release(); // paused while the request was pending
  } catch { /* refused (battery saver, no permission): the timer still works */ }
  asking = false;
}

/* ---------- The player dialog ---------- */

const dialog = document.createElement("dialog");
dialog.className = "player";
dialog.innerHTML = `
<div class="pl-run" data-el="run">
  <div class="pl-top">
    <button class="pl-stop" data-act="stop">Stop</button>
    <p class="pl-count" data-el="count"></p>
  </div>
  <div class="pl-bar" aria-hidden="true"><span data-el="bar"></span></div>
  <div class="pl-stage" tabindex="0" role="region" aria-label="This step"><!-- focusable: at large text it scrolls -->
    <p class="pl-phase" data-el="phase"></p>
    <div class="pl-text" data-el="text"></div>
  </div>
  <div class="pl-timer" role="timer" data-el="timer"><span class="pl-num" data-el="num"></span> <span class="pl-unit" data-el="unit"></span></div>
  <p class="visually-hidden" aria-live="polite" data-el="live"></p>
  <div class="pl-controls">
    <button class="pl-extend" data-act="extend"><span class="pl-why">${bedtime ? "Hold longer" : "Still cramping"}: </span>+15 s</button>
    <button class="pl-nav" data-act="back"><span class="pl-arrow" aria-hidden="true">‹</span><span class="pl-label">Back</span></button>
    <button class="pl-pause" data-act="pause" data-el="pause">Pause</button>
    <button class="pl-nav" data-act="next" data-el="next">Next</button>
  </div>
</div>
<div class="pl-done" data-el="done" hidden>
  <h2 class="pl-done-title" tabindex="-1" data-el="doneTitle"></h2>
  <p class="pl-done-text" data-el="doneText"></p>
  <div data-el="slot"></div>
  <button class="pl-close" data-act="stop">Close</button>
</div>`;
const ui = Object.fromEntries($$(dialog, "[data-el]").map((el) => [el.dataset.el, el]));
const actions = { stop: () => dialog.close(), extend, back: () => go(-1), next: () => go(1), pause: togglePause };
dialog.addEventListener("click", (event) => {
  const button = event.target.closest("[data-act]");
  if (button) actions[button.dataset.act]();
});
dialog.addEventListener("close", end); // Stop, Close or Escape

function start() {
  const steps = bedtime ? bedtimeSteps() : guideSteps();
  run = lastRun = { steps, index: 0, startedAt: Date.now(), endedAt: 0, deadline: null, left: null, paused: false, over: false };
  show();
  enter(0, Date.now());
  ui.next.focus(); // the first step waits for this tap
}

/* Open the dialog on `run`: a new start, or a resumed stop. */
function show() {
  hideResume();
  unlockAudio();
  root.dataset.playing = "";
  ui.run.hidden = false;
  ui.done.hidden = true;
  dialog.setAttribute("aria-label", textOf(document.querySelector("h1")));
  dialog.showModal();
  keepAwake(true);
  watchLong();
}

/* Show step `index` with its time counted from `at`; `quiet` skips the cues
   (steps passed over while the tab slept are not worth announcing). */
function enter(index, at, quiet = false) {
  // The first step is read at the reader's own pace: no timer until Next.
  const ms = index === 0 ? 0 : durationOf(run.steps[index]);
  run.index = index;
  run.over = false;
  run.left = run.paused && ms ? ms : null;
  run.deadline = !run.paused && ms ? at + ms : null;
  if (!quiet) announce();
  render();
}

/* `cue`: words that say a hold just ended, spoken first. */
function announce(cue = "") {
  const step = run.steps[run.index];
  const timing = step.seconds ? ` ${step.kind === "rest" ? "Rest" : "Hold"} ${Math.round(durationOf(step) / 1000)} seconds.` : "";
  const words = step.leg ? `${step.leg}. ${step.text}` : step.text + timing;
  ui.live.textContent = `${cue}Step ${run.index + 1} of ${run.steps.length}. ${words}`;
  const said = settings.cue ? cue : "";
  if (settings.voice) speak(said + words);
  else if (said) speak(said, true);
  buzz(60);
}

const HOLD_DONE = "Hold done. ";

/* Catch up with the clock: pass every step whose time is over. */
function tick() {
  if (!run || run.paused || run.done) return;
  const now = Date.now();
  const from = run.index;
  let holdOver = false;
  while (run.deadline !== null && now >= run.deadline) {
    holdOver ||= run.steps[run.index].kind === "hold";
    const standingNext = run.steps[run.index + 1]?.standing; // never walked onto a standing step
    if (settings.advance !== "auto" || standingNext) {
      run.deadline = null;
      run.over = true;
      if (standingNext) {
        ui.live.textContent = "Next you stand up: tap Next when you are ready, and hold something steady.";
        speak("Next you stand up. Tap Next when you are ready.", settings.voice);
      } else {
        ui.live.textContent = "Time is up. Tap Next when you are ready.";
        speak("Time is up.", settings.voice || settings.cue);
      }
      buzz([60, 80, 60]);
    } else if (run.index === run.steps.length - 1) {
      return finish(run.deadline);
    } else {
      enter(run.index + 1, run.deadline, true);
    }
  }
  if (holdOver) tone(523); // one soft tone, even when a sleeping tab skipped several holds
  if (run.index !== from) announce(holdOver ? HOLD_DONE : "");
  render();
}

/* Wake when the displayed second changes, not on a fixed beat. */
function schedule() {
  clearTimeout(timer);
  if (!run || run.paused || run.deadline === null) return;
  const left = run.deadline - Date.now();
  timer = setTimeout(tick, Math.max(1, left - Math.floor((left - 1) / 1000) * 1000));
}

function go(delta) {
  const index = run.index + delta;
  if (index === run.steps.length) return finish();
  enter(Math.max(0, index), Date.now());
}

function extend() {
  if (run.paused) run.left = (run.left ?? 0) + EXTRA_MS;
  else run.deadline = (run.deadline ?? Date.now()) + EXTRA_MS;
  run.over = false;
  ui.live.textContent = "15 more seconds.";
  render();
}

function togglePause() {
  const now = Date.now();
  run.paused = !run.paused;
  if (run.paused) {
    run.left = run.deadline && run.deadline - now;
    run.deadline = null;
    synth?.cancel();
  } else {
    run.deadline = run.left && now + run.left;
  }
  keepAwake(!run.paused);
  ui.live.textContent = run.paused ? "Paused." : "Resumed.";
  render();
  tick();
}

/* `at`: when the last step ended, which may be before the tab woke up. */
function finish(at = Date.now()) {
  run.done = true;
  run.endedAt = at;
  clearTimeout(timer);
  keepAwake(false);
  delete root.dataset.playing;
  if (bedtime) {
    const nights = store.get("unknot-routines", []);
    store.set("unknot-routines", [...(Array.isArray(nights) ? nights : []), new Date(at).toISOString()].slice(-400));
  }
  showDone();
}

/* Stopped, or closed after the end: let go of everything the run held. */
function end() {
  clearTimeout(timer);
  clearTimeout(longTimer);
  dialog.querySelector(".pl-alert")?.remove();
  synth?.cancel();
  keepAwake(false);
  delete root.dataset.playing;
  if (run && !run.done) {
    run.endedAt = Date.now();
    offerResume(run);
  }
  run = null;
  checksHome?.after(checks);
}

/* Ten minutes on one cramp, +15 s included: the urgent advice from the
   triage table, in place, while the stretch goes on. */
let longTimer = 0;
function watchLong() {
  clearTimeout(longTimer);
  const template = document.getElementById("long-cramp-alert");
  if (!run || run.done || bedtime || !template || dialog.querySelector(".pl-alert")) return;
  const left = run.startedAt + LONG_MS - Date.now();
  if (left > 0) {
    longTimer = setTimeout(watchLong, left);
    return;
  }
  const alert = Object.assign(document.createElement("div"), { className: "pl-alert" });
  alert.setAttribute("role", "alert");
  ui.run.prepend(alert);
  alert.append(template.content.cloneNode(true));
  buzz([200, 100, 200]);
}

/* Stop asks nothing (it is the middle of the night), but for ten seconds
   the stretch can go on from where it stopped, with the time it had left. */
const RESUME_MS = 10_000;
const resumeBox = Object.assign(document.createElement("div"), { className: "pl-resume", hidden: true });
resumeBox.setAttribute("role", "status");
resumeBox.innerHTML = '<p></p><button type="button" class="pl-resume-button">Resume</button>';
let resumeTimer = 0;

function offerResume(stopped) {
  const left = stopped.paused ? stopped.left : stopped.deadline && Math.max(0, stopped.deadline - Date.now());
  resumeBox.querySelector("p").textContent = `Stopped at step ${stopped.index + 1} of ${stopped.steps.length}.`;
  resumeBox.querySelector("button").onclick = () => resume(stopped, left);
  resumeBox.hidden = false;
  resumeBox.scrollIntoView({ block: "center" }); // where the person is looking, not above the screen
  clearTimeout(resumeTimer);
  resumeTimer = setTimeout(hideResume, RESUME_MS);
}

function hideResume() {
  clearTimeout(resumeTimer);
  if (resumeBox.contains(document.activeElement)) launch.querySelector("[data-start]").focus();
  resumeBox.hidden = true;
}

function resume(stopped, left) {
  run = stopped;
  Object.assign(run, { endedAt: 0, paused: false, left: null, deadline: left === null ? null : Date.now() + left });
  show();
  render();
  ui.pause.focus();
}

/* ---------- Rendering ---------- */

const clockText = (s) => (s < 60 ? String(s) : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`);
const element = (tag, text) => Object.assign(document.createElement(tag), { textContent: text });

function render() {
  const { steps, index, paused, over } = run;
  const step = steps[index];
  ui.count.textContent = `Step ${index + 1} of ${steps.length}`;
  ui.bar.style.transform = `scaleX(${(index + 1) / steps.length})`;
  ui.phase.textContent = step.phase;
  if (ui.text.dataset.shown !== step.text) { // the same words stay the same node: no flicker
    ui.text.dataset.shown = step.text;
    ui.text.replaceChildren(step.lines ? element("ol") : element("p", step.text));
    step.lines?.forEach((line) => ui.text.firstChild.append(element("li", line)));
  }
  dialog.dataset.kind = step.kind;
  ui.pause.textContent = paused ? "Resume" : "Pause";
  ui.next.textContent = index === steps.length - 1 ? "Finish" : "Next";

  const ms = paused ? run.left : run.deadline && run.deadline - Date.now();
  const seconds = ms === null ? null : Math.max(0, Math.ceil(ms / 1000));
  let unit;
  if (paused) unit = "Paused";
  else if (seconds === null) unit = over ? "Time is up · tap Next" : "Tap Next when ready";
  else if (step.kind === "rest") unit = "seconds of rest";
  else if (!step.seconds) unit = "until the next step";
  else unit = `${step.reps > 1 ? `hold ${step.rep} of ${step.reps} · ` : ""}${seconds < 60 ? "seconds left" : "left"}`;
  ui.num.textContent = seconds === null ? (over ? "0" : "–") : clockText(seconds);
  ui.unit.textContent = unit;
  ui.timer.classList.toggle("is-idle", seconds === null && !over);
  ui.timer.classList.toggle("is-paused", paused);
  dialog.toggleAttribute("data-paused", paused); // word, icon and colour: paused is unmistakable
  ui.pause.classList.toggle("is-ready", paused);
  ui.next.classList.toggle("is-ready", seconds === null && !paused);
  schedule();
}

/* The end: after-care checks for a cramp, a good night for the routine. */
let checksHome = null;

function showDone() {
  const seconds = Math.round((run.endedAt - run.startedAt) / 1000);
  ui.run.hidden = true;
  ui.done.hidden = false;
  if (bedtime) {
    ui.doneTitle.textContent = "Routine done. Sleep well.";
    ui.doneText.textContent = "Saved on this phone, so your diary can show the nights you stretched.";
    speak("All done. Sleep well.");
  } else {
    ui.doneTitle.textContent = "Well done.";
    ui.doneText.textContent = `You stretched for ${seconds >= 60 ? `${Math.floor(seconds / 60)} min ` : ""}${seconds % 60} s.`;
    if (checks) {
      checksHome ||= document.createComment("checks");
      checks.before(checksHome);
      ui.slot.append(checks);
    }
    speak("Well done. A few quick checks before you sleep.");
  }
  buzz([60, 80, 60]);
  tone(523);
  ui.doneTitle.focus();
}

/* ---------- The page around the player ---------- */

/* Without JavaScript every answer's advice shows; here only after "Yes". */
function showAdvice() {
  for (const fieldset of $$(document, ".check")) {
    fieldset.querySelector(".advice").hidden = !fieldset.querySelector('input[value="yes"]').checked;
  }
}

/* Hand the cramp to the diary; the link itself then opens it. */
function logCramp() {
  const started = lastRun?.startedAt ?? Date.now();
  const ended = lastRun ? lastRun.endedAt || Date.now() : started;
  store.set("unknot-pending-cramp", {
    at: new Date(started).toISOString(),
    muscle: document.getElementById("routine")?.dataset.routine ?? null,
    side: null,
    seconds: Math.round((ended - started) / 1000),
  });
}

const options = (values, label, selected) =>
  values.map((v) => `<option value="${v}"${v === selected ? " selected" : ""}>${label(v)}</option>`).join("");
const hours = Array.from({ length: 24 }, (_, h) => h);
const hourLabel = (h) => `${String(h).padStart(2, "0")}:00`;

function buildSettings() {
  const [from, until] = store.get("unknot-night-hours", [21, 7]);
  launch.querySelector(".player-settings").insertAdjacentHTML("beforeend", `
<fieldset><legend>After each step</legend>
  <label><input type="radio" name="advance" value="auto"> Move on by itself</label>
  <label><input type="radio" name="advance" value="tap"> Wait for me to tap Next</label>
</fieldset>
<label>Hold times <select name="factor">${options(FACTORS, (f) => (f === 1 ? "As written" : `× ${f}`), settings.factor)}</select></label>
${synth ? '<label><input type="checkbox" name="voice"> Read each step aloud</label>' : ""}
<label><input type="checkbox" name="vibrate"> Vibrate at each step</label>
<label><input type="checkbox" name="tone"> Soft tone when a hold ends</label>
${synth ? '<label><input type="checkbox" name="cue"> Say when a hold ends</label>' : ""}
<fieldset class="pl-hours"><legend>Dim night colours</legend>
  <label>From <select name="nightFrom">${options(hours, hourLabel, from)}</select></label>
  <label>until <select name="nightUntil">${options(hours, hourLabel, until)}</select></label>
</fieldset>`);
  for (const input of $$(launch, "input")) {
    if (input.type === "checkbox") input.checked = Boolean(settings[input.name]);
    else input.checked = settings[input.name] === input.value;
  }
}

function saveSetting({ name, type, value, checked }) {
  if (name.startsWith("night")) {
    const night = ["nightFrom", "nightUntil"].map((n) => Number(launch.querySelector(`[name=${n}]`).value));
    store.set("unknot-night-hours", night);
    return window.unknotTheme?.apply();
  }
  settings[name] = type === "checkbox" ? checked : name === "factor" ? Number(value) : value;
  store.set(KEY, settings);
}

document.getElementById("check-form")?.addEventListener("change", showAdvice);
document.getElementById("log-cramp")?.addEventListener("click", logCramp);
showAdvice();
if (launch) {
  buildSettings();
  launch.addEventListener("change", (event) => saveSetting(event.target));
  launch.querySelector("[data-start]").addEventListener("click", start);
  launch.prepend(resumeBox);
  launch.classList.add("is-ready");
  // "Cramp now" (the home page, the home-screen shortcut): Start is the one thing to press.
  if (["now", "shortcut"].includes(new URLSearchParams(location.search).get("source"))) {
    launch.querySelector("[data-start]").focus();
  }
  document.body.append(dialog);
  synth?.addEventListener?.("voiceschanged", () => { voice = pickVoice(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible" || !run) return;
    if (wantLock) keepAwake(true); // the system lets go of the lock when the screen goes off
    watchLong(); // a sleeping tab's timers may have been held back
    tick();
  });
}
