// What a CI needs, and a service's single points of failure.
import { gql } from "../api.js";
import { ciLink, h, table } from "../dom.js";
import { GraphView, nodeData, pathEdges } from "../graph.js";
import * as Q from "../queries.js";
import { afterRender, fill, mountGraph } from "./common.js";

export function dependencyPage(uid) {
  const results = h("div", {});
  fill(results, async () => {
    const data = await gql(Q.DEPENDENCIES(6, 10000), { uid });
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
