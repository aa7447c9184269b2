// Layouts. Readable views use dagre (npm `dagre`, the layered layout cytoscape-dagre wraps)
// with each tier pinned to its own rank; large overviews use Cytoscape's grid layout, one
// band per tier, which costs next to nothing for thousands of nodes.
import dagre from "dagre";

// Tier i is held on rank 2i+1 by invisible anchors on ranks 2i and 2i+2 (every edge has
// minlen >= 1, as dagre expects); real edges between tiers are laid out top-down whatever
// their direction, and edges inside a tier do not constrain the ranking.
export function tieredDagre(cy, nodes) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 28, edgesep: 8, ranker: "network-simplex" });
  g.setDefaultEdgeLabel(() => ({}));
  const tiers = [...new Set(nodes.map((n) => n.data("tier")))].sort((a, b) => a - b);
  const slot = new Map(tiers.map((t, i) => [t, i]));
  for (let i = 0; i <= tiers.length; i++) g.setNode(`__a${i}`, { width: 1, height: 1 });
  for (let i = 0; i < tiers.length; i++) g.setEdge(`__a${i}`, `__a${i + 1}`, { minlen: 2, weight: 10000 }, "chain");
  nodes.forEach((n) => {
    const i = slot.get(n.data("tier"));
    const width = Math.max(60, Math.min(220, 7 * String(n.data("label")).length));
    g.setNode(n.id(), { width, height: 36 });
    g.setEdge(`__a${i}`, n.id(), { minlen: 1, weight: 0 }, "in");
    g.setEdge(n.id(), `__a${i + 1}`, { minlen: 1, weight: 0 }, "out");
  });
  const ids = new Set(nodes.map((n) => n.id()));
  nodes.connectedEdges().forEach((e) => {
    const s = e.source(), t = e.target();
    if (!ids.has(s.id()) || !ids.has(t.id()) || s.data("tier") === t.data("tier")) return;
    const [top, bottom] = s.data("tier") < t.data("tier") ? [s, t] : [t, s];
    g.setEdge(top.id(), bottom.id(), { minlen: 1, weight: 1 }, e.id());
  });
  dagre.layout(g);
  const positions = {};
  nodes.forEach((n) => { const p = g.node(n.id()); positions[n.id()] = { x: p.x, y: p.y }; });
  return positions;
}

// Bands of rows, one band per tier, CIs by name within a band: positions computed before the
// elements are added (a preset), so thousands of CIs cost no layout pass at all.
export function tieredGridPositions(nodes, { spacing = 40, bandGap = 120 } = {}) {
  const byTier = new Map();
  for (const n of nodes) {
    if (!byTier.has(n.data.tier)) byTier.set(n.data.tier, []);
    byTier.get(n.data.tier).push(n);
  }
  const widest = Math.max(...[...byTier.values()].map((c) => c.length));
  const perRow = Math.max(10, Math.ceil(Math.sqrt(widest * 4)));
  let y = 0;
  for (const tier of [...byTier.keys()].sort((a, b) => a - b)) {
    const members = byTier.get(tier).sort((a, b) => (a.data.label < b.data.label ? -1 : 1));
    const width = Math.min(members.length, perRow) * spacing;
    members.forEach((n, i) => {
      n.position = { x: -width / 2 + (i % perRow) * spacing, y: y + Math.floor(i / perRow) * spacing };
    });
    y += Math.ceil(members.length / perRow) * spacing + bandGap;
  }
}
