// Runs before first paint (a classic script, no inline code needed):
// applies the theme chosen on this device, and the dim "night" theme on
// pages marked data-night when the system is dark or it is bedtime.
(function () {
  var root = document.documentElement;
  var chosen = null;
  var nightHours = [21, 7];
  try {
    chosen = localStorage.getItem("unknot-theme");
    var saved = JSON.parse(localStorage.getItem("unknot-night-hours") || "null");
    if (saved && saved.length === 2) nightHours = saved;
  } catch (e) { /* storage blocked: follow the system */ }
  var hour = new Date().getHours();
  var atNight = nightHours[0] > nightHours[1]
    ? hour >= nightHours[0] || hour < nightHours[1]
    : hour >= nightHours[0] && hour < nightHours[1];
  var systemDark = window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches;
  if (root.hasAttribute("data-night") && chosen !== "light" && (atNight || systemDark || chosen === "dark")) {
    root.setAttribute("data-theme", "night");
  } else if (chosen === "light" || chosen === "dark") {
    root.setAttribute("data-theme", chosen);
  }
})();
