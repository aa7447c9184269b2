// The pages of the interface. Each takes the route's parameters and the session, and
// returns an element (filled in asynchronously from the GraphQL API).
import { failure, gql } from "./api.js";
import { ciLink, fmt, h, hideTooltip, showTooltip, table, when } from "./dom.js";
import { edgeData, GraphView, nodeData, pathEdges } from "./graph.js";
import { tieredGridPositions } from "./layout.js";
import * as Q from "./queries.js";

const state = { classes: null };

// Runs ``fn`` once the element just built is in the document (Cytoscape needs its size).
function afterRender(fn) {
  setTimeout(fn, 0);
}

function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, String(err.message || err));
}

async function fill(target, build) {
  target.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    target.replaceChildren(...[await build()].flat(Infinity).filter((c) => c !== null && c !== undefined));
  } catch (err) {
    target.replaceChildren(errorBox(err));
  }
}

function page(title, ...children) {
  return h("section", { class: "page" }, h("h2", {}, title), children);
}

// Puts the graph in the page, then mounts Cytoscape (it needs the element's size).
function mountGraph(container, view) {
  container.append(view.element);
  view.mount();
  return view;
}

async function classNames() {
  if (!state.classes) {
    const data = await gql(Q.CLASSES);
    state.classes = data.__type.enumValues.map((v) => v.name);
  }
  return state.classes;
}

// "cpu_count>=8", "engine=postgres", "name~web" -> an AttributeFilter.
const OPS = [[">=", "GE"], ["<=", "LE"], ["!=", "NE"], ["~", "CONTAINS"], [">", "GT"], ["<", "LT"], ["=", "EQ"]];
export function parseAttributeFilter(text) {
  for (const [sym, op] of OPS) {
    const at = text.indexOf(sym);
    if (at > 0) {
      const raw = text.slice(at + sym.length).trim();
      let value = raw;
      try { value = JSON.parse(raw); } catch { /* a bare string */ }
      return { attribute: text.slice(0, at).trim(), op, value };
    }
  }
  throw new Error(`"${text}": write attribute=value (or >=, <=, >, <, !=, ~ for contains)`);
}

// --- search -------------------------------------------------------------------------------
export function searchPage(params) {
  const results = h("div", { class: "results" });
  const text = h("input", { name: "q", placeholder: "name or any attribute value", value: params.get("q") || "", "data-testid": "search-text" });
  const attr = h("input", { name: "attr", placeholder: "attribute filter, e.g. cpu_count>=8", value: params.get("attr") || "", "data-testid": "search-attr" });
  const cls = h("select", { name: "class", "data-testid": "search-class" }, h("option", { value: "" }, "any class"));
  classNames().then((names) => names.forEach((n) => cls.append(h("option", { value: n, selected: params.get("class") === n }, n.toLowerCase()))))
    .catch(() => {});
  const form = h("form", { class: "search", onSubmit: (evt) => {
    evt.preventDefault();
    const q = new URLSearchParams();
    if (text.value) q.set("q", text.value);
    if (cls.value) q.set("class", cls.value);
    if (attr.value) q.set("attr", attr.value);
    window.location.hash = `#/search?${q}`;
  } }, text, cls, attr, h("button", { type: "submit", "data-testid": "search-go" }, "Search"));
  const run = async () => {
    const filter = {};
    if (params.get("q")) filter.text = params.get("q");
    if (params.get("class")) filter.ciClass = params.get("class");
    if (params.get("attr")) filter.attributes = [parseAttributeFilter(params.get("attr"))];
    const data = await gql(Q.SEARCH, { filter });
    const rows = data.cis.edges.map(({ node }) => h("tr", {},
      h("td", {}, ciLink(node.uid, node.name)), h("td", {}, node.ciClass.toLowerCase()), h("td", {}, node.lifecycle.toLowerCase()),
      h("td", {}, node.owner || ""), h("td", {}, node.environment || ""),
      h("td", {}, h("a", { href: `#/graph/${encodeURIComponent(node.uid)}`, "data-testid": "open-graph" }, "graph"), " ",
        h("a", { href: `#/impact?uids=${encodeURIComponent(node.uid)}` }, "impact"), " ",
        h("a", { href: `#/deps/${encodeURIComponent(node.uid)}` }, "dependencies"))));
    if (!rows.length) return h("p", {}, "No CI matches.");
    return [table(["Name", "Class", "Lifecycle", "Owner", "Environment", ""], rows, { "data-testid": "search-results" }),
      data.cis.pageInfo.hasNextPage ? h("p", { class: "note" }, "More CIs match: narrow the search.") : null];
  };
  if ([...params.keys()].length) fill(results, run);
  return page("Search configuration items", form, results);
}

// --- one CI -------------------------------------------------------------------------------
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

// --- neighbourhood graph --------------------------------------------------------------------
export function graphPage(uid) {
  const side = h("aside", { class: "side", "data-testid": "side" }, h("p", {}, "Click a CI to expand it."));
  const holder = h("div", { class: "graph-holder" });
  const section = page("Neighbourhood", h("div", { class: "split" }, holder, side));
  const expanded = new Set();
  let view;
  const expand = async (id) => {
    const data = await gql(Q.TOPOLOGY, { root: id, depth: 1 });
    if (!data.topology) throw new Error(`No CI ${id}.`);
    const added = view.add([
      ...data.topology.nodes.map((n) => nodeData(n.ci, n.ci.uid === uid ? { root: true } : {})),
      ...data.topology.edges.map((e) => edgeData({ uid: e.uid, source: e.sourceUid, target: e.targetUid, type: e.type, evidence: e.evidence })),
    ]);
    expanded.add(id);
    view.cy.getElementById(id).addClass("expanded");
    view.layout();
    return added;
  };
  view = new GraphView({
    onTap: async (node) => {
      side.replaceChildren(h("h3", {}, node.data("label")), h("p", {}, node.data("ciClass")),
        h("p", {}, ciLink(node.id(), "CI page"), " · ", h("a", { href: `#/impact?uids=${encodeURIComponent(node.id())}` }, "impact")));
      if (!expanded.has(node.id())) {
        try {
          const added = await expand(node.id());
          side.append(h("p", { "data-testid": "expanded" }, `Expanded: ${added.nodes().length} new CIs.`));
        } catch (err) { side.append(errorBox(err)); }
      }
    },
    tooltip: (node) => [h("b", {}, node.data("label")), ` ${node.data("ciClass")}`,
      node.hasClass("expanded") ? "" : h("div", {}, "click to expand")],
  });
  afterRender(() => {
    mountGraph(holder, view);
    expand(uid).catch((err) => holder.prepend(errorBox(err)));
  });
  return section;
}

// --- impact -------------------------------------------------------------------------------
const LIMIT_NAMES = { max_depth: "depth limit", max_nodes: "node budget" };

function picker(initial, label) {
  const picked = new Map(initial.map((u) => [u, u]));
  const list = h("ul", { class: "picked", "data-testid": "picked" });
  const options = h("datalist", { id: `pick-${label}` });
  const input = h("input", { list: `pick-${label}`, placeholder: "type a CI name", "data-testid": "pick-input",
    onInput: async () => {
      if (input.value.length < 2) return;
      const data = await gql(Q.SEARCH, { filter: { text: input.value } }).catch(() => null);
      if (!data) return;
      options.replaceChildren(...data.cis.edges.map(({ node }) => h("option", { value: `${node.name} [${node.uid}]` })));
    } });
  const render = () => list.replaceChildren(...[...picked].map(([u, name]) => h("li", {}, name, " ",
    h("button", { type: "button", class: "link", onClick: () => { picked.delete(u); render(); } }, "×"))));
  const add = () => {
    const m = /\[([^\]]+)\]$/.exec(input.value);
    const uid = m ? m[1] : input.value.trim();
    if (uid) picked.set(uid, m ? input.value.replace(/\s*\[[^\]]+\]$/, "") : uid);
    input.value = "";
    render();
  };
  Promise.all(initial.map((u) => gql(Q.CI_HEAD, { uid: u }).then((d) => d.ci && picked.set(u, d.ci.name)).catch(() => null)))
    .then(render);
  render();
  return { element: h("div", { class: "picker" }, input, options,
    h("button", { type: "button", onClick: add, "data-testid": "pick-add" }, label), list), picked };
}

function gradeTooltip(ci) {
  return [h("b", {}, ci.name), ` (${ci.ciClass.toLowerCase()}) `, h("span", { class: `grade ${ci.grade.toLowerCase()}` }, ci.grade),
    h("div", { class: "explanation", "data-testid": "tooltip-explanation" }, ci.explanation),
    h("div", { class: "path" }, "path: ", ci.path.map((s) => s.name).join(" → "))];
}

export function impactPage(params) {
  const initial = (params.get("uids") || "").split(",").filter(Boolean);
  const { element, picked } = picker(initial, "Add CI");
  const depth = h("input", { type: "number", min: 1, max: 20, value: params.get("depth") || 6, title: "maximum depth" });
  const budget = h("input", { type: "number", min: 10, max: 100000, value: params.get("nodes") || 10000, title: "node budget" });
  const results = h("div", { class: "results" });
  const run = () => {
    window.location.hash = `#/impact?uids=${[...picked.keys()].map(encodeURIComponent).join(",")}&depth=${depth.value}&nodes=${budget.value}`;
  };
  const form = h("div", { class: "form" }, h("p", {}, "CIs assumed down:"), element,
    h("label", {}, "depth ", depth), h("label", {}, "node budget ", budget),
    h("button", { type: "button", onClick: run, "data-testid": "run-impact", class: "primary" }, "Run impact"));
  if (initial.length) {
    fill(results, async () => {
      const data = await gql(Q.IMPACT, { uids: initial, maxDepth: Number(depth.value), maxNodes: Number(budget.value) });
      const report = data.impact;
      const byUid = new Map(report.impacted.map((c) => [c.uid, c]));
      const holder = h("div", { class: "graph-holder" });
      const view = new GraphView({
        legend: [["down", "#d62728"], ["degraded", "#ffbf00"], ["assumed down (diamond)", "#d62728"]],
        tooltip: (node) => (byUid.has(node.id()) ? gradeTooltip(byUid.get(node.id())) : [h("b", {}, node.data("label")), " assumed down"]),
        onTap: (node) => { window.location.hash = `#/ci/${encodeURIComponent(node.id())}`; },
      });
      const rows = report.impacted.map((ci) => h("tr", { dataset: { uid: ci.uid, grade: ci.grade },
        onMouseenter: (evt) => { const r = evt.currentTarget.getBoundingClientRect(); showTooltip(gradeTooltip(ci), r.left + 40, r.bottom - 10); },
        onMouseleave: hideTooltip },
      h("td", {}, ciLink(ci.uid, ci.name)), h("td", {}, ci.ciClass.toLowerCase()),
      h("td", {}, h("span", { class: `grade ${ci.grade.toLowerCase()}` }, ci.grade)), h("td", {}, ci.depth),
      h("td", { class: "explanation" }, ci.explanation)));
      const services = report.services.map((s) => h("tr", { dataset: { uid: s.uid } },
        h("td", {}, ciLink(s.uid, s.name)), h("td", {}, s.ciClass.toLowerCase()),
        h("td", {}, h("span", { class: `grade ${s.grade.toLowerCase()}` }, s.grade)), h("td", {}, s.owner || "")));
      afterRender(() => {
        mountGraph(holder, view);
        const roots = [...picked].map(([u, name]) => nodeData({ uid: u, name, ciClass: "" }, { failed: true }));
        const starts = new Map();
        report.impacted.forEach((c) => c.path.length && starts.set(c.path[0].uid, c.path[0]));
        // Impacted CIs first: a CI assumed down is in the report too (depth 0), with its grade.
        view.add([...report.impacted.map((c) => nodeData(c, { grade: c.grade, explanation: c.explanation })),
          ...[...starts.values()].map((s) => nodeData(s)), ...roots,
          ...report.impacted.flatMap((c) => pathEdges(c.path))]);
        view.cy.batch(() => {
          initial.forEach((u) => view.cy.getElementById(u).addClass("failed"));
          report.impacted.forEach((c) => view.cy.getElementById(c.uid).addClass(`grade-${c.grade.toLowerCase()}`));
        });
        view.layout();
      });
      return [
        report.truncated ? h("p", { class: "warning", "data-testid": "truncated" },
          `Truncated: the answer stopped at the ${report.truncatedBy.map((t) => LIMIT_NAMES[t] || t).join(" and ")}; more CIs may be impacted.`) : null,
        h("p", { class: "summary", "data-testid": "impact-summary" },
          `${report.impacted.length} impacted CIs: ${report.impacted.filter((c) => c.grade === "DOWN").length} down, `
          + `${report.impacted.filter((c) => c.grade === "DEGRADED").length} degraded.`),
        holder,
        h("h3", {}, "Services and applications to notify"),
        services.length ? table(["Service", "Class", "Grade", "Owner"], services, { "data-testid": "services" }) : h("p", {}, "None."),
        h("p", { "data-testid": "owners" }, "Owners: ", report.owners.join(", ") || "none"),
        h("h3", {}, "Impacted CIs"),
        table(["CI", "Class", "Grade", "Depth", "Explanation"], rows, { "data-testid": "impacted" }),
      ];
    });
  }
  return page("Impact: what breaks if these go down", form, results);
}

// --- dependencies and single points of failure ---------------------------------------------
export function dependencyPage(uid) {
  const results = h("div", {});
  fill(results, async () => {
    const data = await gql(Q.DEPENDENCIES, { uid, maxDepth: 6, maxNodes: 10000 });
    if (!data.ci) return h("p", { class: "error" }, `No CI ${uid}.`);
    const report = data.dependencies;
    const cls = data.ci.ciClass.toLowerCase();
    const spof = cls === "business_service" || cls === "application"
      ? (await gql(Q.SPOF, { uid })).singlePointsOfFailure : null;
    const spofs = new Set(spof ? spof.spofs.map((s) => s.uid) : []);
    const holder = h("div", { class: "graph-holder" });
    const view = new GraphView({
      tooltip: (node) => [h("b", {}, node.data("label")), ` ${node.data("ciClass")}`,
        spofs.has(node.id()) ? h("div", { class: "spof-note" }, "single point of failure") : null,
        node.data("redundant") ? h("div", {}, "behind a redundancy group") : null],
      onTap: (node) => { window.location.hash = `#/ci/${encodeURIComponent(node.id())}`; },
    });
    afterRender(() => {
      mountGraph(holder, view);
      view.add([nodeData(data.ci, { root: true }),
        ...report.dependencies.map((d) => nodeData(d, { redundant: d.redundant })),
        ...report.dependencies.flatMap((d) => pathEdges(d.path))]);
      spofs.forEach((s) => view.cy.getElementById(s).addClass("spof"));
      view.layout();
    });
    const rows = report.dependencies.map((d) => h("tr", { dataset: { uid: d.uid } },
      h("td", {}, ciLink(d.uid, d.name)), h("td", {}, d.ciClass.toLowerCase()), h("td", {}, d.depth),
      h("td", {}, d.redundant ? "redundant" : ""), h("td", {}, spofs.has(d.uid) ? h("b", { class: "spof-note" }, "SPOF") : "")));
    return [h("h2", {}, `What ${data.ci.name} depends on`),
      report.truncated ? h("p", { class: "warning" }, `Truncated by ${report.truncatedBy.join(", ")}.`) : null,
      spof ? h("p", { "data-testid": "spofs" }, `Single points of failure (${spof.spofs.length} of ${spof.considered} considered): `,
        spof.spofs.map((s) => s.name).join(", ") || "none") : null,
      holder, table(["CI", "Class", "Depth", "Redundancy", ""], rows, { "data-testid": "dependencies" })];
  });
  return h("section", { class: "page" }, results);
}

// --- path between two CIs ---------------------------------------------------------------------
export function pathPage(params) {
  const from = picker(params.get("from") ? [params.get("from")] : [], "Set source");
  const to = picker(params.get("to") ? [params.get("to")] : [], "Set target");
  const results = h("div", {});
  const go = () => {
    const s = [...from.picked.keys()].pop(), t = [...to.picked.keys()].pop();
    if (s && t) window.location.hash = `#/path?from=${encodeURIComponent(s)}&to=${encodeURIComponent(t)}`;
  };
  if (params.get("from") && params.get("to")) {
    fill(results, async () => {
      const report = (await gql(Q.PATHS, { source: params.get("from"), target: params.get("to") })).paths;
      if (!report.paths.length) return h("p", { "data-testid": "no-path" }, "A failure of the source does not reach the target.");
      const holder = h("div", { class: "graph-holder" });
      const view = new GraphView({ onTap: (node) => { window.location.hash = `#/ci/${encodeURIComponent(node.id())}`; } });
      afterRender(() => {
        mountGraph(holder, view);
        view.add([...report.paths.flat().map((s) => nodeData(s)), ...report.paths.flatMap((p) => pathEdges(p))]);
        report.shortest.forEach((s) => view.cy.getElementById(s.uid).addClass("on-path"));
        pathEdges(report.shortest).forEach((e) => view.cy.getElementById(e.data.id).addClass("on-path"));
        view.layout();
      });
      return [h("p", { "data-testid": "shortest" }, "Shortest: ", report.shortest.map((s) => s.name).join(" → ")),
        report.truncated ? h("p", { class: "warning" }, "More paths exist than shown.") : null, holder];
    });
  }
  return page("How a failure of one CI reaches another",
    h("div", { class: "form" }, h("p", {}, "Source (fails):"), from.element, h("p", {}, "Target:"), to.element,
      h("button", { type: "button", class: "primary", onClick: go }, "Find paths")), results);
}

// --- changes ----------------------------------------------------------------------------------
export function changesPage(params, session) {
  const list = h("div", {});
  fill(list, async () => {
    const data = await gql(Q.CHANGES, {});
    const rows = data.changes.edges.map(({ node }) => h("tr", {},
      h("td", {}, h("a", { href: `#/change/${encodeURIComponent(node.uid)}` }, node.title)), h("td", {}, node.action),
      h("td", {}, node.state), h("td", {}, when(node.window.start)), h("td", {}, when(node.window.end)), h("td", {}, node.requester)));
    return rows.length ? table(["Change", "Action", "State", "Start", "End", "Requester"], rows, { "data-testid": "changes" })
      : h("p", {}, "No changes recorded.");
  });
  return page("Changes", session.canEdit ? newChangeForm() : null, list);
}

function newChangeForm() {
  const title = h("input", { placeholder: "title", required: true, "data-testid": "new-title" });
  const cis = h("input", { placeholder: "CI uids, comma-separated", required: true, "data-testid": "new-cis" });
  const action = h("select", { "data-testid": "new-action" }, ["OUTAGE", "RESTART", "MODIFY", "DECOMMISSION"].map((a) => h("option", {}, a)));
  const start = h("input", { type: "datetime-local", required: true, "data-testid": "new-start" });
  const end = h("input", { type: "datetime-local", required: true, "data-testid": "new-end" });
  const out = h("span", {});
  return h("form", { class: "form", "data-mutation": "create-change", onSubmit: async (evt) => {
    evt.preventDefault();
    try {
      const input = { title: title.value, cis: cis.value.split(",").map((s) => s.trim()).filter(Boolean), action: action.value,
        start: Date.parse(`${start.value}Z`), end: Date.parse(`${end.value}Z`) };
      const result = (await gql(Q.CREATE_CHANGE, { input })).createChange;
      const problem = failure(result);
      if (problem) out.replaceChildren(errorBox(problem));
      else window.location.hash = `#/change/${encodeURIComponent(result.uid)}`;
    } catch (err) { out.replaceChildren(errorBox(err)); }
  } }, h("b", {}, "New change "), title, cis, action, "from ", start, " to ", end, " (UTC) ",
  h("button", { type: "submit", "data-testid": "new-submit" }, "Create draft"), out);
}

function mutationButton(label, query, uid, after) {
  return h("button", { type: "button", "data-mutation": label.toLowerCase(), onClick: async (evt) => {
    const box = evt.target.parentElement;
    try {
      const result = Object.values(await gql(query, { uid }))[0];
      const problem = failure(result);
      if (problem) box.append(errorBox(problem)); else after();
    } catch (err) { box.append(errorBox(err)); }
  } }, label);
}

export function changePage(uid, session) {
  const body = h("div", {});
  const reload = () => fill(body, build);
  const build = async () => {
    const data = await gql(Q.CHANGE, { uid });
    const change = data.change;
    if (!change) return h("p", { class: "error" }, `No change ${uid}.`);
    const plan = data.changePlan;
    const controls = session.canEdit ? h("p", { class: "actions" },
      ["DRAFT", "PLANNED"].includes(change.state) ? mutationButton("Plan", Q.PLAN_CHANGE, uid, reload) : null,
      change.state === "PLANNED" ? mutationButton("Approve", Q.APPROVE_CHANGE, uid, reload) : null,
      ["DRAFT", "PLANNED", "APPROVED"].includes(change.state) ? mutationButton("Cancel", Q.CANCEL_CHANGE, uid, reload) : null) : null;
    const parts = [h("h2", {}, change.title, " ", h("small", {}, `${change.action} · ${change.state}`)),
      h("p", {}, `${when(change.window.start)} – ${when(change.window.end)}, requested by ${change.requester}. ${change.description}`),
      h("p", {}, "CIs: ", change.cis.map((c, i) => [i ? ", " : "", ciLink(c, c)])), controls];
    if (!plan) return [...parts, h("p", {}, "Not planned yet.")];
    parts.push(
      h("h3", {}, "Risk"),
      h("p", { "data-testid": "risk" }, h("b", {}, `${plan.risk.level} (${plan.risk.score.toFixed(1)})`), ` × ${plan.risk.multiplier} for ${change.action}`),
      table(["Factor", "Value", "Points", "Detail"], plan.risk.factors.map((f) => h("tr", {},
        h("td", {}, f.name), h("td", {}, f.value), h("td", {}, f.points), h("td", {}, f.detail))), { "data-testid": "risk-factors" }),
      h("h3", {}, "Blackout and maintenance windows"),
      plan.findings.length ? table(["Finding", "Window", "From", "To"], plan.findings.map((f) => h("tr", {},
        h("td", {}, f.kind === "BLACKOUT" ? "violates blackout" : "outside maintenance"), h("td", {}, f.label),
        h("td", {}, when(f.window.start)), h("td", {}, when(f.window.end)))), { "data-testid": "findings" }) : h("p", {}, "None."),
      h("h3", {}, "Conflicts"),
      plan.conflicts.length ? table(["Change", "State", "Window", "Shared CIs", "Shared services"], plan.conflicts.map((c) => h("tr", {},
        h("td", {}, h("a", { href: `#/change/${encodeURIComponent(c.changeUid)}` }, c.title)), h("td", {}, c.state),
        h("td", {}, `${when(c.window.start)} – ${when(c.window.end)}`), h("td", {}, c.sharedCis.join(", ")),
        h("td", {}, c.sharedServices.join(", ")))), { "data-testid": "conflicts" }) : h("p", {}, "None."),
      h("h3", {}, "Services to notify"),
      table(["Service", "Grade", "Owner", "Criticality"], plan.services.map((s) => h("tr", {},
        h("td", {}, ciLink(s.uid, s.name)), h("td", {}, h("span", { class: `grade ${s.grade.toLowerCase()}` }, s.grade)),
        h("td", {}, s.owner || ""), h("td", {}, s.criticality || "")))),
      h("h3", {}, `Impact (${plan.impacted.length} CIs${plan.truncated ? ", truncated" : ""})`),
      table(["CI", "Grade", "Depth", "Margin", "Explanation"], plan.impacted.map((c) => h("tr", {},
        h("td", {}, ciLink(c.uid, c.name)), h("td", {}, h("span", { class: `grade ${c.grade.toLowerCase()}` }, c.grade)),
        h("td", {}, c.depth), h("td", {}, c.margin ?? ""), h("td", { class: "explanation" }, c.explanation)))),
      h("p", { class: "note" }, `Planned ${when(plan.computedAt)}. `, h("a", { href: `#/impact?uids=${change.cis.map(encodeURIComponent).join(",")}` }, "Impact graph")));
    if (["APPROVED", "IN_PROGRESS"].includes(change.state)) parts.push(await driftSection(uid));
    return parts;
  };
  reload();
  return h("section", { class: "page" }, body);
}

async function driftSection(uid) {
  const d = (await gql(Q.DRIFT, { uid })).changeDrift;
  const list = (title, items, fmtItem) => (items.length ? [h("h4", {}, title), h("ul", {}, items.map((i) => h("li", {}, fmtItem(i))))] : []);
  const grade = (g) => `${g.name}: ${g.before || "not impacted"} → ${g.after || "not impacted"}`;
  const edge = (e) => `${e.sourceName} -[${e.type}]-> ${e.targetName}${e.before || e.after ? ` (${e.before || ""} → ${e.after || ""})` : ""}`;
  return h("div", { "data-testid": "drift" }, h("h3", {}, "Approval and drift"),
    h("p", {}, `Approved ${when(d.approvedAt)}; recomputed ${when(d.computedAt)}: `,
      h("b", {}, d.drifted ? "the plan has drifted" : "no drift"), `. Risk ${d.levelBefore} (${d.riskBefore.toFixed(1)}) → ${d.levelAfter} (${d.riskAfter.toFixed(1)}).`),
    list("Relationships added", d.relationshipsAdded, edge), list("Relationships removed", d.relationshipsRemoved, edge),
    list("Relationships changed", d.relationshipsChanged, edge),
    list("CI changes", d.ciChanges, (c) => `${c.name}.${c.attribute}: ${c.before ?? ""} → ${c.after ?? ""}`),
    list("Newly impacted", d.impactedAdded, grade), list("No longer impacted", d.impactedRemoved, grade),
    list("Grade changes", d.gradeChanges, grade), list("Services added", d.servicesAdded, grade),
    list("Services removed", d.servicesRemoved, grade), list("Owners added", d.ownersAdded, String),
    list("Owners removed", d.ownersRemoved, String), list("New conflicts", d.conflictsAdded, String));
}

// --- overview of the whole estate -------------------------------------------------------------
// Every CI at once, in tier bands. Drawing thousands of relationships is what costs (Canvas
// strokes them one by one): the first picture is the CIs; a click on a CI draws its own
// relationships, and "every relationship" draws them all.
export function overviewPage() {
  const holder = h("div", { class: "graph-holder large" });
  const note = h("p", { class: "note", "data-testid": "overview-status" }, "Loading every CI…");
  const all = h("input", { type: "checkbox", "data-testid": "overview-all-edges", disabled: true });
  const focus = h("span", { "data-testid": "overview-focus" });
  let edges = [];
  const byEnd = new Map();
  const view = new GraphView({
    large: true,
    onTap: (node) => {
      if (all.checked) return;
      view.cy.batch(() => { view.cy.edges().remove(); view.add(byEnd.get(node.id()) || []); });
      focus.replaceChildren(`${node.data("label")}: ${view.cy.edges().length} relationships drawn · `,
        h("a", { href: `#/graph/${encodeURIComponent(node.id())}` }, "open its neighbourhood"));
    },
    tooltip: (node) => [h("b", {}, node.data("label")), ` ${node.data("ciClass")}`, h("div", {}, "click: its relationships")],
  });
  all.addEventListener("change", () => {
    const started = performance.now();
    view.cy.batch(() => { view.cy.edges().remove(); if (all.checked) view.add(edges); });
    view.cy.one("render", () => {
      window.cmdbUi.overview.allEdgesMs = performance.now() - started;
      focus.textContent = all.checked ? `${view.cy.edges().length} relationships drawn` : "";
    });
  });
  afterRender(async () => {
    mountGraph(holder, view);
    const started = performance.now();
    try {
      const nodes = [];
      let after = null, capped = 0;
      do {
        const data = await gql(Q.OVERVIEW, { after });
        for (const { node } of data.cis.edges) {
          nodes.push(nodeData(node));
          if (node.neighbours.length >= Q.OVERVIEW_OUT_CAP) capped += 1;
          for (const n of node.neighbours) edges.push(edgeData({ uid: n.relationship.uid, source: node.uid, target: n.otherUid, type: n.relationship.type }));
        }
        after = data.cis.pageInfo.hasNextPage ? data.cis.pageInfo.endCursor : null;
      } while (after);
      const present = new Set(nodes.map((n) => n.data.id));
      edges = edges.filter((e) => present.has(e.data.source) && present.has(e.data.target));
      for (const e of edges) {
        for (const end of [e.data.source, e.data.target]) {
          if (!byEnd.has(end)) byEnd.set(end, []);
          byEnd.get(end).push(e);
        }
      }
      const fetched = performance.now();
      view.cy.one("render", () => {
        const rendered = performance.now();
        window.cmdbUi.overview = { nodes: nodes.length, edges: edges.length, fetchMs: fetched - started, renderMs: rendered - fetched };
        all.disabled = false;
        note.textContent = `${nodes.length} CIs, ${edges.length} relationships (fetched in ${Math.round(fetched - started)} ms, drawn in ${Math.round(rendered - fetched)} ms). Click a CI for its relationships.`
          + (capped ? ` ${capped} CIs reached the cap of ${Q.OVERVIEW_OUT_CAP} outgoing relationships drawn each; they may have more.` : "");
      });
      tieredGridPositions(nodes);  // laid out before they are added: no layout pass over thousands of CIs
      view.canvas.dataset.ready = "false";
      view.cy.one("render", () => { view.canvas.dataset.ready = "true"; });
      view.cy.batch(() => view.add(nodes));
      view.cy.fit(undefined, 20);
      view.status.textContent = `${nodes.length} CIs`;
    } catch (err) { note.replaceChildren(errorBox(err)); }
  });
  return page("Overview of the estate, by tier", note,
    h("p", {}, h("label", {}, all, ` Draw every relationship`), " ", focus), holder);
}
