// cmdb-graph's web interface: sign in with an API token, then explore, assess impact and
// review changes through the public GraphQL API (the token's role applies as over HTTP).
import { gql, onUnauthenticated, token, Unauthenticated } from "./api.js";
import { h, hideTooltip } from "./dom.js";
import * as Q from "./queries.js";
import { takeTokenFromFragment, TOKEN_KEY } from "./token.js";
import * as V from "./views.js";

const app = document.getElementById("app");
let session = null;

function signInPage(message) {
  const input = h("input", { type: "password", name: "token", placeholder: "API token", autocomplete: "off",
    required: true, "data-testid": "token" });
  const form = h("form", { class: "signin", onSubmit: async (evt) => {
    evt.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    await start();
  } },
  h("h1", {}, "cmdb-graph"),
  h("p", {}, "Sign in with an API token (cmdb token create NAME --role viewer). It is kept in this tab only."),
  input, h("button", { type: "submit", class: "primary", "data-testid": "signin" }, "Sign in"),
  message ? h("p", { class: "error", role: "alert", "data-testid": "signin-error" }, message) : null);
  app.replaceChildren(form);
  input.focus();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  session = null;
  signInPage(message);
}

const NAV = [["#/search", "Search"], ["#/impact", "Impact"], ["#/path", "Path"], ["#/changes", "Changes"],
  ["#/overview", "Overview"]];

function shell(content) {
  const nav = h("nav", {}, h("b", { class: "brand" }, "cmdb-graph"),
    NAV.map(([href, label]) => h("a", { href, class: window.location.hash.startsWith(href) ? "active" : null }, label)),
    h("a", { href: "/graphql", target: "_blank", rel: "noopener" }, "GraphiQL"),
    h("span", { class: "who", "data-testid": "who" }, `${session.name} (${session.role.toLowerCase()})`),
    h("button", { type: "button", class: "link", "data-testid": "signout", onClick: () => signOut(null) }, "Sign out"));
  app.replaceChildren(nav, h("main", {}, content));
}

function route() {
  hideTooltip();
  const hash = window.location.hash || "#/search";
  const [path, query] = hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const [, name, ...rest] = path.split("/");
  const arg = decodeURIComponent(rest.join("/"));
  const pages = {
    search: () => V.searchPage(params),
    ci: () => V.ciPage(arg),
    graph: () => V.graphPage(arg),
    impact: () => V.impactPage(params),
    deps: () => V.dependencyPage(arg),
    path: () => V.pathPage(params),
    changes: () => V.changesPage(params, session),
    change: () => V.changePage(arg, session),
    overview: () => V.overviewPage(),
  };
  shell((pages[name] || pages.search)());
}

async function start() {
  if (!token()) return signInPage(null);
  try {
    const { me } = await gql(Q.ME);
    session = me;
    document.body.dataset.role = me.role.toLowerCase();
    route();
  } catch (err) {
    signOut(err instanceof Unauthenticated ? "This token was refused." : String(err.message || err));
  }
}

// A request refused mid-session (token revoked) brings the sign-in back.
onUnauthenticated(() => { if (session) signOut("The server no longer accepts this token."); });
window.addEventListener("hashchange", () => session && route());
takeTokenFromFragment();
start();
