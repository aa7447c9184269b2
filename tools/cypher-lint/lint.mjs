// Lint Cypher statements with Neo4j's own parser and semantic analysis.
//
// Input (stdin): {"schema": DbSchema, "statements": [{"name", "statement"}]}
// where DbSchema may list "labels", "relationshipTypes" and "propertyKeys":
// then a label, type or property outside those lists is reported too.
// Output (stdout): a JSON array of {"name", "statement", "diagnostics": [...]},
// one per input, where "diagnostics" leaves out only "Parameter $x is not
// defined" (parameters are sent by the driver, not declared in the text).
// Exit code: 0 when every statement is clean, 1 otherwise, 2 on bad input.
import { lintCypherQuery, isNotParamError } from '@neo4j-cypher/language-support';

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

const raw = await readStdin();
let items;
let dbSchema;
try {
  const input = JSON.parse(raw);
  items = input.statements;
  dbSchema = input.schema || {};
  if (!Array.isArray(items)) throw new Error('expected "statements" to be an array');
} catch (err) {
  process.stderr.write(`cypher-lint: bad input: ${err.message}\n`);
  process.exit(2);
}

let dirty = 0;
const results = items.map(({ name, statement }) => {
  const { diagnostics } = lintCypherQuery(statement, dbSchema);
  const kept = diagnostics.filter(isNotParamError).map((d) => ({
    message: d.message,
    severity: d.severity,
    start: d.offsets ? d.offsets.start : null,
    end: d.offsets ? d.offsets.end : null,
  }));
  if (kept.length > 0) dirty += 1;
  return { name, statement, diagnostics: kept };
});
process.stdout.write(JSON.stringify(results));
process.exit(dirty === 0 ? 0 : 1);
