// Small DOM builders and the diary's charts: inline SVG with role="img", a
// title and a description, always next to a table of the same numbers.
// Colours come from diary.css classes, so every theme applies.

const SVG = "http://www.w3.org/2000/svg";
const W = 320; // the viewBox width is about the phone's CSS width, so 18 units ≈ 18 px

export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG, tag), attrs, children);

function build(el, attrs = {}, children = []) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.replace(/^on/, ""), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

let count = 0;

function image(title, desc, height, parts) {
  const id = `chart-${++count}`;
  return s("svg", { class: "chart", viewBox: `0 0 ${W} ${height}`, role: "img", "aria-labelledby": `${id}-t ${id}-d` },
    s("title", { id: `${id}-t` }, title), s("desc", { id: `${id}-d` }, desc), parts);
}

/* As many labels as fit: every k-th, counted back from the latest; centred
   under their mark unless that would run off an edge. */
function axisLabels(labels, xOf, y) {
  const step = labels.length > 1 ? xOf(1) - xOf(0) : W;
  const charWidth = 10; // about right for 18 px system-ui digits and letters
  const every = Math.ceil((Math.max(...labels.map((t) => String(t).length)) * charWidth + 8) / step);
  return labels.flatMap((text, i) => {
    if ((labels.length - 1 - i) % every) return [];
    const x = xOf(i);
    const half = (String(text).length * charWidth) / 2;
    const [anchor, at] = x - half < 0 ? ["start", 0] : x + half > W ? ["end", W] : ["middle", x];
    return [s("text", { class: "label", x: at, y, "text-anchor": anchor }, text)];
  });
}

/* Vertical bars, one label for each (those that fit are shown). */
export function bars({ title, desc, values, labels, height = 190 }) {
  const top = 30, base = height - 40, step = W / values.length, width = Math.min(step * 0.68, 44);
  const mid = (i) => step * (i + 0.5);
  const peak = Math.max(1, ...values.map((v) => v || 0));
  const parts = [s("line", { class: "axis", x1: 0, x2: W, y1: base, y2: base })];
  values.forEach((value, i) => {
    if (!value) return;
    const y = base - (value / peak) * (base - top);
    parts.push(s("rect", { class: "col", x: mid(i) - width / 2, y, width, height: base - y, rx: 3 }),
      s("text", { class: "value", x: mid(i), y: y - 8, "text-anchor": "middle" }, value));
  });
  return image(title, desc, height, [parts, axisLabels(labels, mid, height - 10)]);
}

/* A line of points on a 0–10 scale; gaps (null) break the line. */
export function line({ title, desc, values, labels, max = 10, height = 190 }) {
  const left = 30, top = 16, base = height - 40, step = (W - left) / values.length;
  const x = (i) => left + step * (i + 0.5);
  const y = (v) => base - (v / max) * (base - top);
  const parts = [0, max / 2, max].flatMap((v) => [
    s("line", { class: v ? "grid" : "axis", x1: left, x2: W, y1: y(v), y2: y(v) }),
    s("text", { class: "label", x: 0, y: y(v) + 6 }, v),
  ]);
  let path = "";
  values.forEach((v, i) => {
    if (v === null) { path += " "; return; }
    path += `${/\d$/.test(path) ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    parts.push(s("circle", { class: "dot", cx: x(i), cy: y(v), r: 6 }));
  });
  parts.unshift(s("path", { class: "trace", d: path.trim() || "M0,0" }));
  return image(title, desc, height, [parts, axisLabels(labels, x, height - 10)]);
}

/* Horizontal bars for shares (0–1), one row each: label above, bar, percent. */
export function shares({ title, desc, rows }) {
  const row = 70, height = rows.length * row + 6, room = W - 150;
  const parts = rows.flatMap((r, i) => {
    const y = i * row;
    const width = Math.max(2, r.share * room);
    return [
      s("text", { class: "label strong", x: 0, y: y + 22 }, r.label),
      s("rect", { class: i ? "col col-muted" : "col", x: 0, y: y + 34, width, height: 22, rx: 3 }),
      s("text", { class: "value", x: width + 8, y: y + 52 }, `${Math.round(r.share * 100)}%`,
        s("tspan", { class: "label" }, ` · ${r.cramps} of ${r.nights}`)),
    ];
  });
  return image(title, desc, height, parts);
}

/* The same numbers as a table; the first column heads each row. */
export function table({ caption, head, rows }) {
  return h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => (i ? h("td", {}, c) : h("th", { scope: "row" }, c))))))));
}
