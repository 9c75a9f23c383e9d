// Runs before first paint (a classic script in <head>, no inline code
// needed), so no page flashes bright at night. The theme chosen on this
// device is "auto" (the default), "light" or "dark". Automatic and dark turn
// into the dim "night" theme on every page during the night hours: the ones
// set in the player, else the reminders' quiet hours, else 21:00–07:00. Pages
// marked data-night (the stretches, the diary) are dim whenever it is dark.
// app.js and player.js call window.unknotTheme again when things change.
(function () {
  var root = document.documentElement;
  var KEY = "unknot-theme";
  var BACKGROUND = { light: "#f6f4ef", dark: "#14202a", night: "#0e0b09" };

  function read(key) {
    try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
  }

  /* [from, until] in minutes after midnight. */
  function nightMinutes() {
    var hours = read("unknot-night-hours");
    if (hours && hours.length === 2) return [hours[0] * 60, hours[1] * 60];
    var quiet = read("unknot-quiet-hours");
    if (quiet && quiet.length === 2) return quiet;
    return [21 * 60, 7 * 60];
  }

  function atNight() {
    var now = new Date();
    var minute = now.getHours() * 60 + now.getMinutes();
    var span = nightMinutes();
    return span[0] > span[1] ? minute >= span[0] || minute < span[1] : minute >= span[0] && minute < span[1];
  }

  function choice() {
    var chosen = null;
    try { chosen = localStorage.getItem(KEY); } catch (e) { /* storage blocked: automatic */ }
    return chosen === "light" || chosen === "dark" ? chosen : "auto";
  }

  function apply() {
    var chosen = choice();
    var systemDark = window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches;
    var theme = null;
    if (chosen === "light") theme = "light";
    else if (atNight() || (root.hasAttribute("data-night") && (systemDark || chosen === "dark"))) theme = "night";
    else if (chosen === "dark") theme = "dark";
    if (theme) root.setAttribute("data-theme", theme);
    else root.removeAttribute("data-theme");
    var metas = document.querySelectorAll('meta[name="theme-color"]');
    for (var i = 0; i < metas.length; i++) {
      var own = metas[i].getAttribute("media").indexOf("dark") >= 0 ? BACKGROUND.dark : BACKGROUND.light;
      metas[i].setAttribute("content", theme ? BACKGROUND[theme] : own);
    }
    return theme;
  }

  function choose(chosen) {
    try {
      if (chosen === "auto") localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, chosen);
    } catch (e) { /* storage blocked: this page only */ }
    return apply();
  }

  window.unknotTheme = { apply: apply, choice: choice, choose: choose };
  apply();
})();
