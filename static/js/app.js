// Every page: the service worker and its update prompt, the theme toggle,
// and the iOS "Add to Home Screen" hint.

const root = document.documentElement;

function setupThemeToggle() {
  const button = document.getElementById("theme-toggle");
  if (!button) return;
  const isDark = () => {
    const theme = root.getAttribute("data-theme");
    if (theme) return theme !== "light";
    return matchMedia("(prefers-color-scheme: dark)").matches;
  };
  const render = () => button.setAttribute("aria-pressed", String(isDark()));
  button.addEventListener("click", () => {
    const next = isDark() ? "light" : "dark";
    try { localStorage.setItem("unknot-theme", next); } catch { /* private mode: this page only */ }
    root.setAttribute("data-theme", next);
    render();
  });
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

setupThemeToggle();
setupIosHint();
setupServiceWorker().catch((error) => console.warn("service worker not registered", error));
