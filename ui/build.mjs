// Builds the web interface and copies GraphiQL's own bundles into graph_api/static/ui/,
// the directory the Python package serves at /ui (and /graphql's GraphiQL page).
// Everything comes from node_modules, pinned by package-lock.json: nothing is loaded
// from outside the server at run time.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "graph_api", "static", "ui");
const pkgDir = (name) => join(here, "node_modules", name);

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "graphiql"), { recursive: true });

await build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outdir: out,
  legalComments: "linked",
  logLevel: "warning",
});
await build({
  entryPoints: { init: join(here, "src", "graphiql-init.js") },
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outdir: join(out, "graphiql"),
  logLevel: "warning",
});
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));
copyFileSync(join(here, "src", "app.css"), join(out, "app.css"));
copyFileSync(join(here, "src", "graphiql.html"), join(out, "graphiql", "index.html"));
// GraphiQL 3's UMD bundle expects React and ReactDOM as globals: the packages' own production builds.
const copies = [
  ["react", "umd/react.production.min.js"],
  ["react-dom", "umd/react-dom.production.min.js"],
  ["graphiql", "graphiql.min.js"],
  ["graphiql", "graphiql.min.css"],
];
for (const [name, file] of copies) copyFileSync(join(pkgDir(name), file), join(out, "graphiql", file.split("/").pop()));
const versions = Object.fromEntries(
  ["graphiql", "react", "react-dom", "cytoscape", "dagre", "cytoscape-svg"].map((n) => [n, JSON.parse(readFileSync(join(pkgDir(n), "package.json"), "utf8")).version]));
writeFileSync(join(out, "versions.json"), JSON.stringify(versions, null, 1) + "\n");
console.log(`ui: built into ${out}`);
