// Search CIs by text, class and one attribute filter.
import { gql } from "../api.js";
import { ciLink, h, table } from "../dom.js";
import * as Q from "../queries.js";
import { fill, page, classNames, parseAttributeFilter } from "./common.js";

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
