// The graph canvas (Cytoscape.js): tiered layout, class and relationship-type filters,
// grade colours, tooltips, and export of the view (PNG, SVG) and the subgraph (GraphML, JSON).
import cytoscape from "cytoscape";
import cytoscapeSvg from "cytoscape-svg";
import { download, h, hideTooltip, showTooltip } from "./dom.js";
import { tieredDagre, tieredGridPositions } from "./layout.js";
import { className, TIER_COLOURS, TIER_NAMES, tierOf } from "./tiers.js";

cytoscape.use(cytoscapeSvg);

// Above this many nodes the readable (dagre) layout gives way to the tiered grid.
export const DAGRE_LIMIT = 400;

const STYLE = [
  { selector: "node", style: {
    "background-color": "data(colour)", label: "data(label)", "font-size": 11,
    "text-valign": "bottom", "text-margin-y": 4, width: 22, height: 22, "min-zoomed-font-size": 7, color: "#222",
    "text-background-color": "#fff", "text-background-opacity": 0.7, "text-background-padding": 1,
  } },
  { selector: "node[?root]", style: { "border-width": 4, "border-color": "#000" } },
  { selector: "node.expanded", style: { shape: "round-rectangle" } },
  { selector: "node.failed", style: { "background-color": "#000", shape: "diamond", width: 28, height: 28 } },
  { selector: "node.grade-down", style: { "background-color": "#d62728", "border-width": 2, "border-color": "#7f0000" } },
  { selector: "node.grade-degraded", style: { "background-color": "#ffbf00", "border-width": 2, "border-color": "#8a6d00" } },
  { selector: "node.spof", style: { "border-width": 5, "border-color": "#e7298a", "border-style": "double" } },
  { selector: "node.on-path", style: { "border-width": 4, "border-color": "#08519c" } },
  { selector: "node:selected", style: { "overlay-color": "#08519c", "overlay-opacity": 0.25 } },
  { selector: "edge", style: {
    width: 1.5, "line-color": "#9aa", "target-arrow-color": "#9aa", "target-arrow-shape": "triangle",
    "curve-style": "bezier", "arrow-scale": 0.8, label: "", "font-size": 9, color: "#555",
  } },
  { selector: "edge.labelled", style: { label: "data(type)", "text-background-color": "#fff", "text-background-opacity": 0.85,
    "text-background-padding": 1 } },
  { selector: "edge.on-path", style: { "line-color": "#08519c", "target-arrow-color": "#08519c", width: 3 } },
  { selector: ".filtered", style: { display: "none" } },
];

// Thousands of CIs: a stylesheet of its own, as small as it can be (styles are resolved for
// every element before the first frame): no labels (the tooltip names a CI; measuring 2,000
// labels alone costs seconds), straight "haystack" edges without arrows (the cheapest edge).
const LARGE_STYLE = [
  { selector: "node", style: { "background-color": "data(colour)", label: "", width: 14, height: 14 } },
  { selector: "edge", style: { "curve-style": "haystack", "haystack-radius": 0, width: 1, "line-color": "#c5cccc" } },
  { selector: ".filtered", style: { display: "none" } },
];

export function nodeData(ci, extra = {}) {
  const ciClass = className(ci.ciClass);
  const tier = tierOf(ciClass);
  return { group: "nodes", data: { id: ci.uid, label: ci.name, ciClass, tier, colour: TIER_COLOURS[tier], ...extra } };
}

export function edgeData(rel) {
  return { group: "edges", data: { id: rel.uid || `${rel.source}:${rel.type}:${rel.target}`, source: rel.source,
    target: rel.target, type: rel.type, evidence: rel.evidence || null } };
}

// Edges along explanation paths (impact, dependencies, paths): each step names the relationship that led to it.
export function pathEdges(steps) {
  const edges = [];
  for (const step of steps || []) {
    if (step.relType && step.relSource && step.relTarget) {
      edges.push(edgeData({ source: step.relSource, target: step.relTarget, type: step.relType }));
    }
  }
  return edges;
}

export class GraphView {
  constructor({ large = false, onTap = null, tooltip = null, legend = null } = {}) {
    this.large = large;
    this.onTap = onTap;
    this.tooltip = tooltip;
    this.canvas = h("div", { class: "graph-canvas", "data-testid": "graph" });
    this.filters = h("div", { class: "graph-filters" });
    // Colours are tiers unless the view colours by something else (impact: the grade).
    this.legend = h("div", { class: "legend" }, (legend || TIER_NAMES.map((name, i) => [name, TIER_COLOURS[i]])).map(([name, colour]) =>
      h("span", {}, h("i", { style: `background:${colour}` }), name)));
    this.status = h("span", { class: "graph-status" });
    const button = (label, fn, id) => h("button", { type: "button", onClick: fn, "data-testid": id }, label);
    this.toolbar = h("div", { class: "graph-toolbar" },
      button("Fit", () => this.cy.fit(undefined, 30), "fit"),
      button("Re-layout", () => this.layout(), "relayout"),
      h("span", { class: "sep" }),
      "Export: ",
      button("PNG", () => this.exportPng(), "export-png"),
      button("SVG", () => this.exportSvg(), "export-svg"),
      button("GraphML", () => this.exportGraphml(), "export-graphml"),
      button("JSON", () => this.exportJson(), "export-json"),
      this.status);
    this.element = h("div", { class: "graph-view" }, this.toolbar, this.filters, this.canvas, this.legend);
    this.hidden = { classes: new Set(), types: new Set() };
  }

  // Called once the canvas is in the document (Cytoscape needs its size).
  mount() {
    const large = this.large;
    this.cy = cytoscape({
      container: this.canvas, style: large ? LARGE_STYLE : STYLE, wheelSensitivity: 0.3, minZoom: 0.02, maxZoom: 4,
      // For thousands of nodes: draw a cached texture while panning/zooming, no edges meanwhile.
      textureOnViewport: large, hideEdgesOnViewport: large, pixelRatio: large ? 1 : "auto",
      motionBlur: false,
    });
    window.cmdbUi = Object.assign(window.cmdbUi || {}, { cy: this.cy, view: this });
    this.cy.on("tap", "node", (evt) => this.onTap && this.onTap(evt.target));
    this.cy.on("mouseover", "node", (evt) => {
      const content = this.tooltip ? this.tooltip(evt.target) : evt.target.data("label");
      const p = evt.renderedPosition, box = this.canvas.getBoundingClientRect();
      if (content) showTooltip(content, box.left + p.x, box.top + p.y);
    });
    this.cy.on("mouseout", "node", hideTooltip);
    this.cy.on("pan zoom", hideTooltip);
    return this;
  }

  add(elements) {
    const fresh = elements.filter((el) => this.cy.getElementById(el.data.id).empty());
    // An edge whose ends are not both drawn is left out (it comes back when they are).
    const ids = new Set([...this.cy.nodes().map((n) => n.id()), ...fresh.filter((e) => e.group === "nodes").map((e) => e.data.id)]);
    const added = this.cy.add(fresh.filter((el) => el.group === "nodes" || (ids.has(el.data.source) && ids.has(el.data.target))));
    this.refreshFilters();
    return added;
  }

  clear() {
    this.cy.elements().remove();
    this.refreshFilters();
  }

  layout() {
    const nodes = this.cy.nodes(":visible");
    if (nodes.empty()) return;
    // "ready" once the laid-out picture has been drawn (what a user sees before clicking;
    // the browser tests wait on it rather than on time).
    this.canvas.dataset.ready = "false";
    this.cy.one("render", () => { this.canvas.dataset.ready = "true"; });
    this.cy.edges().toggleClass("labelled", nodes.length <= 60);
    if (nodes.length <= DAGRE_LIMIT && !this.large) {
      const positions = tieredDagre(this.cy, nodes);
      nodes.layout({ name: "preset", positions: (n) => positions[n.id()], fit: true, padding: 30, animate: false }).run();
      // A handful of CIs would otherwise be blown up to fill the canvas.
      if (this.cy.zoom() > 1.2) { this.cy.zoom(1.2); this.cy.center(); }
    } else {
      const json = nodes.map((n) => ({ data: { tier: n.data("tier"), label: n.data("label") }, id: n.id() }));
      tieredGridPositions(json);
      const at = new Map(json.map((n) => [n.id, n.position]));
      nodes.layout({ name: "preset", positions: (n) => at.get(n.id()), fit: true, padding: 20, animate: false }).run();
    }
    this.status.textContent = `${nodes.length} CIs, ${this.cy.edges(":visible").length} relationships`;
  }

  refreshFilters() {
    const classes = [...new Set(this.cy.nodes().map((n) => n.data("ciClass")))].sort();
    const types = [...new Set(this.cy.edges().map((e) => e.data("type")))].sort();
    const box = (kind, value) => h("label", { class: "chip" },
      h("input", { type: "checkbox", checked: !this.hidden[kind].has(value), "data-filter": `${kind}:${value}`,
        onChange: (evt) => { evt.target.checked ? this.hidden[kind].delete(value) : this.hidden[kind].add(value); this.applyFilters(); } }),
      value);
    this.filters.replaceChildren(
      h("span", { class: "filter-group" }, h("b", {}, "Classes "), classes.map((c) => box("classes", c))),
      h("span", { class: "filter-group" }, h("b", {}, "Relationships "), types.map((t) => box("types", t))));
  }

  applyFilters() {
    this.cy.batch(() => {
      this.cy.nodes().forEach((n) => n.toggleClass("filtered", this.hidden.classes.has(n.data("ciClass"))));
      this.cy.edges().forEach((e) => e.toggleClass("filtered", this.hidden.types.has(e.data("type"))));
    });
    this.status.textContent = `${this.cy.nodes(":visible").length} CIs, ${this.cy.edges(":visible").length} relationships`;
  }

  visible() {
    const nodes = this.cy.nodes(":visible");
    return { nodes, edges: this.cy.edges(":visible").filter((e) => e.source().visible() && e.target().visible()) };
  }

  exportPng() {
    download("cmdb-view.png", this.cy.png({ full: true, output: "blob", bg: "#ffffff", scale: 2 }));
  }

  exportSvg() {
    download("cmdb-view.svg", new Blob([this.cy.svg({ full: true, bg: "#ffffff" })], { type: "image/svg+xml" }));
  }

  subgraph() {
    const { nodes, edges } = this.visible();
    return {
      nodes: nodes.map((n) => ({ uid: n.id(), name: n.data("label"), ciClass: n.data("ciClass"),
        grade: n.data("grade") || null, explanation: n.data("explanation") || null })),
      edges: edges.map((e) => ({ uid: e.id(), type: e.data("type"), source: e.data("source"), target: e.data("target"),
        evidence: e.data("evidence") })),
    };
  }

  exportJson() {
    download("cmdb-subgraph.json", new Blob([JSON.stringify(this.subgraph(), null, 2)], { type: "application/json" }));
  }

  exportGraphml() {
    download("cmdb-subgraph.graphml", new Blob([toGraphml(this.subgraph())], { type: "application/xml" }));
  }
}

const xml = (s) => String(s ?? "").replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" }[c]));

export function toGraphml({ nodes, edges }) {
  const keys = [["name", "node"], ["ciClass", "node"], ["grade", "node"], ["explanation", "node"], ["type", "edge"], ["evidence", "edge"]];
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>',
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
    ...keys.map(([k, f]) => `  <key id="${k}" for="${f}" attr.name="${k}" attr.type="string"/>`),
    '  <graph id="cmdb" edgedefault="directed">'];
  for (const n of nodes) {
    lines.push(`    <node id="${xml(n.uid)}">`);
    for (const k of ["name", "ciClass", "grade", "explanation"]) if (n[k]) lines.push(`      <data key="${k}">${xml(n[k])}</data>`);
    lines.push("    </node>");
  }
  for (const e of edges) {
    lines.push(`    <edge id="${xml(e.uid)}" source="${xml(e.source)}" target="${xml(e.target)}">`);
    lines.push(`      <data key="type">${xml(e.type)}</data>`);
    if (e.evidence) lines.push(`      <data key="evidence">${xml(JSON.stringify(e.evidence))}</data>`);
    lines.push("    </edge>");
  }
  lines.push("  </graph>", "</graphml>");
  return lines.join("\n") + "\n";
}
