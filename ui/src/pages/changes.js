// Changes: the list, a change's plan, approval and drift; mutation controls for editors only.
import { failure, gql } from "../api.js";
import { ciLink, h, table, when } from "../dom.js";
import * as Q from "../queries.js";
import { errorBox, fill, page } from "./common.js";

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
