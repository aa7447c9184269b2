// What every page uses: loading into an element, errors, the page frame, mounting a graph,
// and the attribute-filter syntax of the search.
import { gql } from "../api.js";
import { h } from "../dom.js";
import * as Q from "../queries.js";

const state = { classes: null };

// Runs ``fn`` once the element just built is in the document (Cytoscape needs its size).
export function afterRender(fn) {
  setTimeout(fn, 0);
}

export function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, String(err.message || err));
}

export async function fill(target, build) {
  target.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  try {
    target.replaceChildren(...[await build()].flat(Infinity).filter((c) => c !== null && c !== undefined));
  } catch (err) {
    target.replaceChildren(errorBox(err));
  }
}

export function page(title, ...children) {
  return h("section", { class: "page" }, h("h2", {}, title), children);
}

// Puts the graph in the page, then mounts Cytoscape (it needs the element's size).
export function mountGraph(container, view) {
  container.append(view.element);
  view.mount();
  return view;
}

export async function classNames() {
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
