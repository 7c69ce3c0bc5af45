import { beforeAll, describe, expect, test } from "vitest";
import type { RunResult } from "../run.js";
import { loadScenario, type Scenario } from "../scenario.js";
import { type CheckResult, checkScenario } from "../system/check.js";
import {
  bundledScenarioPath,
  failedOracles,
  receivedText,
  wireText,
} from "../testing/fault-checks.js";
import { VirtTxWithoutQuarantine } from "../testing/fault-variants.js";

describe("client-corrupt: a client corrupts its queue and virt_tx contains it", () => {
  let scenario: Scenario;
  let checked: CheckResult;
  beforeAll(() => {
    scenario = loadScenario(bundledScenarioPath("client-corrupt.json"));
    checked = checkScenario(scenario);
  });

  test("check is green; guest1 is cut off and counted once, nothing else is", () => {
    expect(failedOracles(checked)).toEqual([]);
    expect(checked.run.peerFaults).toEqual({ virtTx: 1, virtRx: 0, driver: 0 });
    expect(checked.run.pdFaults).toEqual([]);
    const guest1 = checked.run.guests[0]!;
    expect(guest1.unpublished).toBe(0);
    // Everything guest1 published before the fault reached the wire, nothing after it.
    const { text, times } = wireText(checked.run, 1);
    expect(text.length).toBe(guest1.enqueued.length);
    expect(text.endsWith("faults-guest1 line 9\r\n")).toBe(true);
    expect(Math.max(...times)).toBeLessThan(0.5e9);
  });

  test("guest2's output, times and typed input are those of a run without the fault", () => {
    const calm = checkScenario({
      ...scenario,
      guests: scenario.guests.map((g) => {
        if (g.kind !== "sddf-client") return g;
        const { corruptQueue: _c, ...rest } = g;
        return rest;
      }),
    });
    const faulted = wireText(checked.run, 2);
    const alone = wireText(calm.run, 2);
    expect(faulted.text).toBe(alone.text);
    expect(faulted.text.endsWith("faults-guest2 line 39\r\n")).toBe(true);
    // At most the one virt_tx notification that cut guest1 off later (under 1 µs; 200 ns seen).
    const delay = Math.max(...faulted.times.map((t, i) => t - alone.times[i]!));
    expect(delay).toBeLessThan(1000);
    const typed = (r: RunResult) => receivedText(r, 1);
    expect(typed(checked.run)).toBe("hello\r");
    expect(typed(calm.run)).toBe("hello\r");
  });

  test("planted: no quarantine (the corrupt index escapes virt_tx) and check fails", () => {
    const result = checkScenario(scenario, { variants: { virtTx: VirtTxWithoutQuarantine } });
    const failed = failedOracles(result);
    expect(failed).toContain("isolation");
    expect(failed).toContain("progress");
    const isolation = result.judgements.find((j) => j.verdict.oracle === "isolation")!;
    expect(isolation.verdict.findings[0]).toMatch(/^PD serial_virt_tx ended dead/);
    expect(wireText(result.run, 2).text.endsWith("faults-guest2 line 39\r\n")).toBe(false);
  });
});
