// Every page: the service worker and its update prompt, the theme toggle,
// and the iOS "Add to Home Screen" hint.

const root = document.documentElement;

/* Automatic → Light → Dark → Automatic; the button says which is on. */
const THEMES = { auto: ["Automatic", "light"], light: ["Light", "dark"], dark: ["Dark", "auto"] };

function setupThemeControl() {
  const button = document.getElementById("theme-toggle");
  const theme = window.unknotTheme;
  if (!button || !theme) return;
  const label = button.querySelector("[data-theme-label]");
  const render = () => { label.textContent = THEMES[theme.choice()][0]; };
  button.addEventListener("click", () => {
    theme.choose(THEMES[theme.choice()][1]);
    render();
  });
  // The clock moves on (bedtime comes while the page is open); another tab may choose.
  setInterval(theme.apply, 60_000);
  addEventListener("storage", () => { theme.apply(); render(); });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", theme.apply);
  button.hidden = false;
  render();
}

/* A waiting worker is offered, never forced: the page reloads only after a tap. */
async function setupServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  let applying = false;
  const toast = document.getElementById("update-toast");
  const offer = (worker) => {
    if (!toast) return;
    toast.hidden = false;
    document.getElementById("update-apply").onclick = () => {
      applying = true;
      worker.postMessage({ type: "skip-waiting" });
    };
  };
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (applying) window.location.reload();
  });
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  // Notification actions tapped offline wait in the worker's outbox: now is a good time to send them.
  const flush = () => navigator.serviceWorker.controller?.postMessage({ type: "flush-outbox" });
  addEventListener("online", flush);
  flush();
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker.addEventListener("statechange", () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
    });
  });
}

function setupIosHint() {
  const hint = document.getElementById("ios-hint");
  if (!hint) return;
  const ios = /iphone|ipad|ipod/i.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  const standalone = navigator.standalone || matchMedia("(display-mode: standalone)").matches;
  let dismissed = false;
  try { dismissed = localStorage.getItem("unknot-ios-hint") === "done"; } catch { /* ignore */ }
  if (!ios || standalone || dismissed) return;
  hint.hidden = false;
  document.getElementById("ios-hint-close").addEventListener("click", () => {
    hint.hidden = true;
    try { localStorage.setItem("unknot-ios-hint", "done"); } catch { /* ignore */ }
  });
}

setupThemeControl();
setupIosHint();
setupServiceWorker().catch((error) => console.warn("service worker not registered", error));
