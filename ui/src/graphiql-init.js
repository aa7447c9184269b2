// Starts GraphiQL against this server's /graphql. The bearer token comes from the web
// interface's sign-in (sessionStorage, this tab only) or from the URL fragment
// (#token=..., never sent to the server); headers are not persisted by GraphiQL.
import { takeTokenFromFragment, TOKEN_KEY } from "./token.js";

const token = takeTokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || "";
const fetcher = window.GraphiQL.createFetcher({ url: `${window.location.origin}/graphql` });
const headers = JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
const root = window.ReactDOM.createRoot(document.getElementById("graphiql"));
root.render(window.React.createElement(window.GraphiQL, {
  fetcher,
  defaultHeaders: headers,
  headers,
  shouldPersistHeaders: false,
  defaultEditorToolsVisibility: token ? false : "headers",
  defaultQuery: "# Ask the CMDB: the first CIs by uid\n{\n  cis(first: 5) {\n    edges { node { uid ciClass name } }\n  }\n}\n",
}));
