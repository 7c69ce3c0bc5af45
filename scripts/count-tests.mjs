#!/usr/bin/env node
// Reads vitest's JSON report and prints the closing line CI reads: "N passed, N failed".
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: count-tests.mjs <vitest-json-report>");
  process.exit(2);
}
let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (error) {
  console.error(`count-tests: cannot read ${file}: ${error.message}`);
  process.exit(2);
}
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
