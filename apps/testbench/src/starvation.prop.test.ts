/**
 * Starvation under random priorities (issue 13 item 2): the two recorded guests on their VMMs
 * with every PD and vCPU at a random priority. Judged from the wire alone, a guest that stays
 * silent for longer than the bound while its trace has output due is flagged by `progress`; a
 * guest that is never silent for long while output is due is never flagged.
 */
import { fileURLToPath } from "node:url";
import { tagOrigin } from "@vmmux/sddf-queues";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { progress } from "./oracles.js";
import { type RunResult, runScenario } from "./run.js";
import { loadScenario, type Scenario, withKnobs } from "./scenario.js";

const pair = loadScenario(
  fileURLToPath(new URL("../../../traces/scenarios/recorded-pair.json", import.meta.url)),
);
const BOUND = 4;
const NS = 1e9;

/**
 * The longest time guest `k` had trace output due (by its recorded time) and not on the wire,
 * with no byte of its own leaving the wire, in ns.
 */
function longestSilenceBehind(run: RunResult, scenario: Scenario, k: number): number {
  const g = scenario.guests[k]!;
  const events = g.trace.events.filter((e) => e.code === "o");
  const first = events[0]?.time ?? 0;
  const start = run.guests[k]!.traceStart ?? Math.round((g.kind === "vm" ? g.boot : 0) * NS);
  const due: number[] = [];
  for (const e of events) {
    const at = start + Math.round((e.time - first) * NS);
    for (let i = 0; i < Buffer.byteLength(e.data, "utf8"); i++) due.push(at);
  }
  const ends = run.wire.filter((w) => tagOrigin(w.tag) === k + 1).map((w) => w.end);
  let longest = 0;
  // Silence i: from byte i - 1's end (or its due time) until byte i's end (or the run's end).
  for (let i = 0; i <= ends.length && i < due.length; i++) {
    const from = Math.max(due[i]!, i === 0 ? 0 : ends[i - 1]!);
    const to = i < ends.length ? ends[i]! : run.virtualTime;
    longest = Math.max(longest, to - from);
  }
  return longest;
}

const priority = fc.integer({ min: 90, max: 120 });

describe("progress flags exactly the guests the scheduler starves", () => {
  test("random priorities: long silence with output due is flagged, short never", () => {
    fc.assert(
      fc.property(
        fc.record({ vmm1: priority, vm1: priority, vmm2: priority, vm2: priority }),
        (p) => {
          const scenario = withKnobs(pair, {
            durationLimit: 8,
            starvedAfter: BOUND,
            pds: {
              vmm_guest1: { priority: p.vmm1 },
              guest1: { priority: p.vm1 },
              vmm_guest2: { priority: p.vmm2 },
              guest2: { priority: p.vm2 },
            },
          });
          const run = runScenario(scenario);
          const v = progress(run);
          for (const [k, g] of scenario.guests.entries()) {
            const silent = longestSilenceBehind(run, scenario, k);
            const flagged = v.findings.some((f) => f.startsWith(`${g.name} starved:`));
            // A sampling step (0.1 s) either side of the bound is left undecided.
            if (silent > (BOUND + 0.3) * NS)
              expect(flagged, `${g.name} silent ${silent / NS} s`).toBe(true);
            if (silent < 1 * NS) expect(flagged, `${g.name} silent ${silent / NS} s`).toBe(false);
          }
        },
      ),
      { numRuns: 6 },
    );
  });
});
