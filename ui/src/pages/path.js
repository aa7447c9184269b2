// How a failure of one CI reaches another.
import { gql } from "../api.js";
import { h } from "../dom.js";
import { GraphView, nodeData, pathEdges } from "../graph.js";
import * as Q from "../queries.js";
import { picker } from "./impact.js";
import { afterRender, fill, page, mountGraph } from "./common.js";

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
