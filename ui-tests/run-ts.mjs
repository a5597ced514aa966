// Runs a TypeScript file with Node.js: its types stripped by the TypeScript
// compiler, then imported as an ES module. Used by the test that runs
// docs/integrating.md's TypeScript snippets.
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const source = readFileSync(process.argv[2], "utf8");
const { outputText } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  reportDiagnostics: false,
});
const out = join(mkdtempSync(join(tmpdir(), "roster-ts-")), "snippet.mjs");
writeFileSync(out, outputText);
await import(pathToFileURL(out).href);
