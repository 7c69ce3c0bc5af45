import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const repoRoot = fileURLToPath(new URL(".", import.meta.url));

/** Every workspace package is a vitest project named after its folder. */
const workspaceDirs = ["packages", "apps"].flatMap((group) =>
  readdirSync(join(repoRoot, group), { withFileTypes: true })
    .filter(
      (entry) =>
        entry.isDirectory() && existsSync(join(repoRoot, group, entry.name, "package.json")),
    )
    .map((entry) => join(repoRoot, group, entry.name)),
);

/** Resolve sibling packages to their TypeScript sources, so tests need no build. */
const conditions = ["@vmmux/source", "module", "node", "development|production"];

/** CI asks for a machine-readable report beside the usual output (see `.ci/run`). */
const jsonReport = process.env.VMMUX_JSON_REPORT;

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    ...(jsonReport ? { reporters: ["default", "json"], outputFile: { json: jsonReport } } : {}),
    testTimeout: 120_000,
    hookTimeout: 60_000,
    projects: workspaceDirs.map((dir) => ({
      extends: true,
      test: {
        name: dir.split("/").pop(),
        root: dir,
        include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      },
    })),
  },
});
