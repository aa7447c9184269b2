// A CI's neighbourhood, expanded by clicking CIs.
import { gql } from "../api.js";
import { ciLink, h } from "../dom.js";
import { edgeData, GraphView, nodeData } from "../graph.js";
import * as Q from "../queries.js";
import { afterRender, errorBox, page, mountGraph } from "./common.js";

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
