// Lint Cypher statements with Neo4j's own parser and semantic analysis.
//
// Input (stdin): {"schema": DbSchema, "statements": [{"name", "statement"}]}
// where DbSchema may list "labels", "relationshipTypes" and "propertyKeys":
// then a label, type or property outside those lists is reported too.
// Optional "chunk": N lints N statements at a time as one script.
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
let input;
try {
  input = JSON.parse(raw);
  items = input.statements;
  dbSchema = input.schema || {};
  if (!Array.isArray(items)) throw new Error('expected "statements" to be an array');
} catch (err) {
  process.stderr.write(`cypher-lint: bad input: ${err.message}\n`);
  process.exit(2);
}

function lintOne(statement) {
  const { diagnostics } = lintCypherQuery(statement, dbSchema);
  return diagnostics.filter(isNotParamError).map((d) => ({
    message: d.message,
    severity: d.severity,
    start: d.offsets ? d.offsets.start : null,
    end: d.offsets ? d.offsets.end : null,
  }));
}

// Linting several statements as one script (";"-separated) costs far less than
// one call each; a script with any diagnostic is linted again statement by
// statement, so every diagnostic is reported against its own statement.
const chunk = Math.max(1, Number(input.chunk || 1));
let dirty = 0;
const results = [];
for (let start = 0; start < items.length; start += chunk) {
  const group = items.slice(start, start + chunk);
  const clean = group.length > 1 && lintOne(group.map((i) => i.statement).join(';\n')).length === 0;
  for (const { name, statement } of group) {
    const diagnostics = clean ? [] : lintOne(statement);
    if (diagnostics.length > 0) dirty += 1;
    results.push({ name, statement, diagnostics });
  }
}
// Set the exit code and let node exit once stdout is drained: process.exit()
// would end the process with a piped stdout still buffered (cut at 64 KiB).
process.exitCode = dirty === 0 ? 0 : 1;
process.stdout.write(JSON.stringify(results));
