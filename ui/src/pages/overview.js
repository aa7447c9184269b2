// Every CI of the estate at once, by tier.
import { gql } from "../api.js";
import { h } from "../dom.js";
import { edgeData, GraphView, nodeData } from "../graph.js";
import { tieredGridPositions } from "../layout.js";
import * as Q from "../queries.js";
import { afterRender, errorBox, page, mountGraph } from "./common.js";

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
