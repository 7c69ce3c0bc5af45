#!/usr/bin/env node
// Checks DESIGN.md's layering: internal dependencies point down only, and every internal
// dependency uses the `workspace:^` protocol. Exits non-zero naming the offending package.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The layers of DESIGN.md "Packages and their layers", top to bottom. A package may depend
 * only on packages listed below it.
 */
const layers = [
  "@vmmux/testbench",
  "@vmmux/v86-guest",
  "@vmmux/vmm",
  "@vmmux/virtio-console",
  "@vmmux/sddf-serial",
  "@vmmux/pl011-uart",
  "@vmmux/virtio-core",
  "@vmmux/microkit-pd",
  "@vmmux/sddf-queues",
  "@vmmux/profiles",
];
/**
 * `sddf-queues`, `virtio-core` and `microkit-pd` depend on nothing of ours but the shared
 * profile vocabulary (`@vmmux/profiles`, the bottom layer, which depends on nothing).
 */
const foundations = new Set(["@vmmux/sddf-queues", "@vmmux/virtio-core", "@vmmux/microkit-pd"]);
const vocabulary = "@vmmux/profiles";
const allowed = Object.fromEntries(
  layers.map((name, index) => [
    name,
    name === vocabulary ? [] : foundations.has(name) ? [vocabulary] : layers.slice(index + 1),
  ]),
);

const problems = [];
for (const group of ["packages", "apps"]) {
  for (const entry of readdirSync(group, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(group, entry.name, "package.json");
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    const mayUse = allowed[pkg.name];
    if (!mayUse) {
      problems.push(`${file}: package ${pkg.name} has no place in the layer table`);
      continue;
    }
    for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
      for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
        if (!dep.startsWith("@vmmux/")) continue;
        if (range !== "workspace:^")
          problems.push(`${file}: ${field}.${dep} must be "workspace:^"`);
        if (!mayUse.includes(dep)) {
          problems.push(`${file}: ${pkg.name} may not depend on ${dep} (arrows point down only)`);
        }
      }
    }
  }
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  process.exit(1);
}
console.log("layers: every internal dependency points down");
