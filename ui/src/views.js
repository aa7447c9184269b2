// The pages of the interface, one module each under pages/. Each takes the route's
// parameters (and the session) and returns an element filled from the GraphQL API.
export { changePage, changesPage } from "./pages/changes.js";
export { ciPage } from "./pages/ci.js";
export { dependencyPage } from "./pages/dependencies.js";
export { impactPage } from "./pages/impact.js";
export { graphPage } from "./pages/neighbourhood.js";
export { overviewPage } from "./pages/overview.js";
export { pathPage } from "./pages/path.js";
export { searchPage } from "./pages/search.js";
