// The emergency and urgent numbers for where the person is. The table comes
// with every page (the footer's data-numbers), so it works offline. The
// region is guessed from the browser's language (en-GB → United Kingdom),
// can be changed with one tap on /seek-care, and is remembered on this device.
// Unknown: the page keeps 112, which most mobile phones connect anywhere.

const KEY = "unknot-region";
const table = JSON.parse(document.querySelector("[data-numbers]")?.dataset.numbers || "null");
let picked = null; // this visit's choice, for when storage is blocked

function detect() {
  for (const lang of [navigator.language, ...(navigator.languages || [])]) {
    const country = (lang || "").split("-")[1]?.toUpperCase();
    const found = country && Object.entries(table.regions).find(([, r]) => r.countries.includes(country));
    if (found) return found[0];
  }
  return "other";
}

function chosen() {
  let region = picked;
  try { region = localStorage.getItem(KEY) ?? picked; } catch { /* storage blocked */ }
  return region === "other" || table.regions[region] ? region : detect();
}

/* Every number on the page, including boxes added later (the player's alert, diary cards). */
function apply(root = document) {
  const key = chosen();
  const region = table.regions[key];
  const emergency = region?.emergency ?? table.fallback.emergency;
  for (const link of root.querySelectorAll('[data-call="emergency"]')) {
    link.href = `tel:${emergency}`;
    link.textContent = `Call ${emergency}`;
  }
  for (const link of root.querySelectorAll('[data-call="urgent"]')) {
    link.hidden = !region?.urgent;
    if (region?.urgent) {
      link.href = `tel:${region.urgent.number}`;
      link.textContent = `Call ${region.urgent.name}`;
    } else link.removeAttribute("href");
  }
  for (const note of root.querySelectorAll("[data-call-note]")) note.hidden = Boolean(region);
  for (const name of root.querySelectorAll("[data-region-name]")) name.textContent = region?.name ?? `somewhere else (${table.fallback.emergency} shown)`;
  for (const button of root.querySelectorAll("[data-region]")) button.setAttribute("aria-pressed", String(button.dataset.region === key));
}

function choose(event) {
  const button = event.target.closest("[data-region]");
  if (!button) return;
  picked = button.dataset.region;
  try { localStorage.setItem(KEY, picked); } catch { /* this visit only */ }
  apply();
}

if (table) {
  apply();
  document.getElementById("region")?.removeAttribute("hidden");
  document.addEventListener("click", choose);
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) if (node.nodeType === 1 && node.querySelector?.("[data-call]")) apply(node);
    }
  }).observe(document.body, { childList: true, subtree: true });
  addEventListener("storage", (event) => event.key === KEY && apply());
}
