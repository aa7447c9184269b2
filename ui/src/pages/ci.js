// One CI: attributes and who wrote each (from its history), relationships with evidence, history.
import { gql } from "../api.js";
import { ciLink, fmt, h, table, when } from "../dom.js";
import * as Q from "../queries.js";
import { fill } from "./common.js";

// Who wrote each attribute: the source of the latest history entry that set it.
function writers(history) {
  const by = {};
  for (const entry of history) {
    for (const attribute of Object.keys(entry.changes || {})) by[attribute] = { source: entry.source, at: entry.at };
    if (entry.action === "create" && entry.changes && entry.changes.attributes) {
      for (const attribute of Object.keys(entry.changes.attributes)) by[attribute] = { source: entry.source, at: entry.at };
    }
  }
  return by;
}

function evidenceText(ev) {
  return `${ev.method}, confidence ${ev.confidence}, seen ${ev.timesSeen}× by ${ev.sources.join(", ")}; first ${when(ev.firstSeen)}, last ${when(ev.lastSeen)}`;
}

export function ciPage(uid) {
  const body = h("div", {});
  fill(body, async () => {
    const data = await gql(Q.CI_PAGE, { uid });
    const ci = data.ci;
    if (!ci) return h("p", { class: "error" }, `No CI ${uid}.`);
    const wrote = writers(data.history);
    const attrs = Object.entries(ci.attributes).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => h("tr", {},
      h("th", {}, key), h("td", {}, fmt(value)),
      h("td", { class: "source" }, wrote[key] ? `${wrote[key].source} (${when(wrote[key].at)})` : "")));
    const rels = ci.neighbours.map((n) => h("tr", {},
      h("td", {}, n.direction === "OUT" ? "→" : "←"), h("td", {}, n.relationship.type),
      h("td", {}, ciLink(n.otherUid, n.ci ? n.ci.name : n.otherUid)), h("td", {}, n.ci ? n.ci.ciClass.toLowerCase() : ""),
      h("td", {}, n.relationship.lifecycle.toLowerCase()), h("td", { class: "evidence" }, evidenceText(n.relationship.evidence))));
    const timeline = h("ol", { class: "timeline", "data-testid": "history" }, data.history.slice().reverse().map((e) => h("li", {},
      h("time", {}, when(e.at)), " ", h("b", {}, e.action), ` by ${e.source}`, e.runId ? ` (run ${e.runId})` : "",
      h("ul", {}, Object.entries(e.changes || {}).map(([k, v]) => h("li", {}, `${k}: `,
        Array.isArray(v) && v.length === 2 ? `${fmt(v[0])} → ${fmt(v[1])}` : fmt(v)))))));
    return [
      h("h2", {}, ci.name, " ", h("small", {}, `${ci.ciClass.toLowerCase()} · ${ci.lifecycle.toLowerCase()}`)),
      h("p", { class: "actions" },
        h("a", { href: `#/graph/${encodeURIComponent(uid)}` }, "Graph"), " · ",
        h("a", { href: `#/impact?uids=${encodeURIComponent(uid)}` }, "Impact if down"), " · ",
        h("a", { href: `#/deps/${encodeURIComponent(uid)}` }, "Dependencies"), " · ",
        h("a", { href: `#/path?from=${encodeURIComponent(uid)}` }, "Path from here"), " · ",
        h("span", { class: "uid" }, ci.uid)),
      h("h3", {}, "Attributes"),
      table(["Attribute", "Value", "Written by (from history)"], attrs, { class: "attributes", "data-testid": "attributes" }),
      h("h3", {}, `Relationships (${ci.neighbours.length})`),
      table(["", "Type", "Other CI", "Class", "Lifecycle", "Evidence"], rels, { "data-testid": "relationships" }),
      h("h3", {}, "History"), timeline,
    ];
  });
  return h("section", { class: "page" }, body);
}
