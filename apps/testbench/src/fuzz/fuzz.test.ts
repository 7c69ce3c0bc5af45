/**
 * `pnpm fuzz` can fail (issue 11 acceptance): a transport that drops a notification, run as a
 * campaign, leaves a shrunk counterexample of a handful of operations in the corpus, which
 * the real transport replays clean. Shards split a campaign's batches without overlap.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../commands.js";
import { batchSeed, runFuzz } from "./campaign.js";
import { loadSuiteCorpus } from "./corpus.js";
import { replayEntry } from "./suites.js";
import type { SystemRunReport } from "./system.js";

const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "vmmux-fuzz-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("pnpm fuzz", () => {
  it("shrinks the planted dropped-notification transport to a few operations in the corpus", async () => {
    const corpusDir = scratch();
    const lines: string[] = [];
    const out = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const argv = ["fuzz", "--suite", "transport", "--broken", "dropped-notify"];
    const code = await main([...argv, "--workers", "0", "--ops", "20000", "--corpus", corpusDir], {
      ...out,
      isTty: false,
    });
    expect(code).toBe(1);
    const [found, ...more] = loadSuiteCorpus("transport", corpusDir);
    expect(more).toEqual([]);
    expect(found?.entry.violations.join()).toMatch(/pending that it could take/);
    expect(found?.entry.found.variant).toBe("dropped-notify");
    expect(found?.entry.script?.length).toBeLessThanOrEqual(4);
    expect(lines.join("")).toContain(found?.file);
    // The corpus replays against the real transport, which passes it.
    expect(replayEntry(found!.entry)).toEqual([]);
  });

  it("shrinks a system campaign against a VMM that leaves an exit unanswered to one operation", async () => {
    const corpusDir = scratch();
    const lines: string[] = [];
    const out = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const argv = ["fuzz", "--suite", "system", "--broken", "unanswered-unmapped"];
    const code = await main([...argv, "--workers", "0", "--ops", "40", "--corpus", corpusDir], {
      ...out,
      isTty: false,
    });
    expect(code).toBe(1);
    const [found] = loadSuiteCorpus("system", corpusDir);
    expect(found?.entry.violations.join()).toMatch(/left unanswered/);
    expect(found?.entry.found.variant).toBe("unanswered-unmapped");
    expect(found?.entry.script?.length).toBeLessThanOrEqual(2);
    // The real VMM answers the same script.
    expect(replayEntry(found!.entry)).toEqual([]);
  });

  it("runs the real suites clean and counts their operations", async () => {
    const corpusDir = scratch();
    const summary = await runFuzz({
      suites: ["transport", "console"],
      ops: 5000,
      workers: 0,
      corpusDir,
    });
    for (const s of summary.suites) {
      expect([s.suite, s.failed]).toEqual([s.suite, 0]);
      expect(s.ops).toBeGreaterThanOrEqual(5000);
    }
    expect(summary.corpus).toEqual({ transport: 0, console: 0, system: 0 });
  });

  it("reports the other guest's bytes and every PD's state for each system run", async () => {
    const reports: SystemRunReport[] = [];
    const summary = await runFuzz({
      suites: ["system"],
      ops: 40,
      workers: 0,
      corpusDir: scratch(),
      batchRuns: { system: 2 },
      onSystemRun: (r) => reports.push(r),
    });
    expect(summary.suites[0]?.failed).toBe(0);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (const r of reports) {
      expect(r.other).toEqual({ sent: 120, delivered: 120, queued: 0, inOrder: true });
      expect(Object.keys(r.pds).sort()).toEqual([
        "serial_virt_rx",
        "serial_virt_tx",
        "uart_driver",
        "vmm_guest1",
        "vmm_guest2",
      ]);
      expect(r.ops).toBe(r.total);
    }
    expect(summary.suites[0]?.ops).toBe(reports.reduce((n, r) => n + r.ops, 0));
  });

  it("gives each shard of a campaign its own batches, batch k to shard (k mod n) + 1", async () => {
    const corpusDir = scratch();
    const shard = async (index: number) =>
      (
        await runFuzz({
          suites: ["console"],
          ops: 30_000,
          workers: 0,
          corpusDir,
          seed: 7,
          shard: { index, count: 2 },
          batchRuns: { console: 4 },
        })
      ).suites[0]!.batchSeeds;
    const [a, b] = [await shard(1), await shard(2)];
    expect(a.length).toBeGreaterThan(1);
    expect(a).toEqual(a.map((_, j) => batchSeed(7, "console", 2 * j)));
    expect(b).toEqual(b.map((_, j) => batchSeed(7, "console", 2 * j + 1)));
    expect(new Set([...a, ...b]).size).toBe(a.length + b.length);
  });
});
