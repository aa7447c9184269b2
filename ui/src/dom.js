// A few DOM helpers (no framework: the interface is forms, tables and one graph canvas).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function table(headers, rows, attrs = {}) {
  return h("table", attrs, h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
    h("tbody", {}, rows));
}

export function when(ms) {
  return ms ? new Date(Number(ms)).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

export function fmt(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export function ciLink(uid, name) {
  return h("a", { href: `#/ci/${encodeURIComponent(uid)}` }, name || uid);
}

export function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const tooltip = () => document.getElementById("tooltip");

export function showTooltip(content, x, y) {
  const tip = tooltip();
  tip.replaceChildren(...[content].flat());
  tip.hidden = false;
  tip.style.left = `${Math.min(x + 14, window.innerWidth - 380)}px`;
  tip.style.top = `${y + 14}px`;
}

export function hideTooltip() {
  tooltip().hidden = true;
}
