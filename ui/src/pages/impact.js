// Impact: pick CIs assumed down; every impacted CI by grade, explained; services and owners.
import { gql } from "../api.js";
import { ciLink, h, hideTooltip, showTooltip, table } from "../dom.js";
import { GraphView, nodeData, pathEdges } from "../graph.js";
import * as Q from "../queries.js";
import { afterRender, fill, page, mountGraph } from "./common.js";

const LIMIT_NAMES = { max_depth: "depth limit", max_nodes: "node budget" };

export function picker(initial, label) {
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
  const depth = h("input", { type: "number", min: 1, max: 10, value: params.get("depth") || 6, title: "maximum depth" });
  const budget = h("input", { type: "number", min: 10, max: 50000, value: params.get("nodes") || 10000, title: "node budget" });
  const results = h("div", { class: "results" });
  const run = () => {
    window.location.hash = `#/impact?uids=${[...picked.keys()].map(encodeURIComponent).join(",")}&depth=${depth.value}&nodes=${budget.value}`;
  };
  const form = h("div", { class: "form" }, h("p", {}, "CIs assumed down:"), element,
    h("label", {}, "depth ", depth), h("label", {}, "node budget ", budget),
    h("button", { type: "button", onClick: run, "data-testid": "run-impact", class: "primary" }, "Run impact"));
  if (initial.length) {
    fill(results, async () => {
      const data = await gql(Q.IMPACT(depth.value, budget.value), { uids: initial });
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
