/**
 * Recorded pairs replayed as they were typed, and the oracles that judge them (issue 13 items 1
 * and 2): `recorded-pair.json` is green with every oracle; forcing `input: "echo"` doubles each
 * typed byte and `fidelity` names the first; a replay that drops the traces' typing and a
 * progress oracle that only counts written bytes are each caught.
 */
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { fidelity, judge, progress } from "./oracles.js";
import { type RunResult, runScenario } from "./run.js";
import { loadScenario, type Scenario } from "./scenario.js";
import { dropTraceTyping, progressWrittenBytesOnly } from "./testing/replay-variants.js";

const scenarioPath = (name: string) =>
  fileURLToPath(new URL(`../../../traces/scenarios/${name}`, import.meta.url));

const withInput = (s: Scenario, input: "echo" | "record" | "trace"): Scenario => ({
  ...s,
  guests: s.guests.map((g) => ({ ...g, input })),
});

describe("a recorded pair replays its own typing", () => {
  let pair: Scenario;
  let run: RunResult;
  beforeAll(() => {
    pair = loadScenario(scenarioPath("recorded-pair.json"));
    run = runScenario(pair);
  });

  test("both guests replay their trace's typing, echo off, and every oracle passes", () => {
    expect(pair.guests.map((g) => [g.input, g.replaysTyping])).toEqual([
      ["trace", true],
      ["trace", true],
    ]);
    for (const [k, g] of pair.guests.entries()) {
      const typed = g.trace.events.filter((e) => e.code === "i").map((e) => e.data);
      const received = run.guests[k]!.received.map((r) => r.byte);
      expect(Buffer.from(received).toString("utf8")).toBe(typed.join(""));
    }
    const judged = judge(run, run, pair.expect);
    expect(judged.filter((j) => !j.asExpected).map((j) => j.verdict.findings)).toEqual([]);
    expect(fidelity(run).notes).toContain(
      "guest1: 14820/14820 trace output bytes on the wire in order",
    );
  });

  test("input echo forced: fidelity fails at the first doubled byte", () => {
    const echoed = runScenario(withInput(pair, "echo"));
    const v = fidelity(echoed);
    expect(v.ok).toBe(false);
    expect(v.findings[0]).toMatch(/^guest1: wire byte \d+ is "u" .*a doubled byte/);
  });

  test("a replay that drops the traces' typing is caught by fidelity", () => {
    const dropped = runScenario(pair, { variants: { typing: dropTraceTyping } });
    const v = fidelity(dropped);
    expect(v.ok).toBe(false);
    expect(v.findings).toContain(
      "guest1: its trace typed 67 byte(s) before the run ended and it was given 0 (received or waiting in its RX queue)",
    );
  });
});

describe("starvation is a progress finding by default", () => {
  let starved: RunResult;
  let scenario: Scenario;
  beforeAll(() => {
    scenario = loadScenario(scenarioPath("vm-starved-unexpected.json"));
    starved = runScenario(scenario);
  });

  test("vm-starved without expectations: guest2 is starved, named with the threads that held the core", () => {
    const v = progress(starved, scenario.expect);
    expect(v.ok).toBe(false);
    expect(v.findings).toHaveLength(1);
    expect(v.findings[0]).toMatch(
      /^guest2 starved: waited 1\d\.\d{3} s \(1\.\d{3} s to 14\.000 s\) with work due and no CPU, longer than 3\.500 s; the core went to guest1:vcpu0 1\d\.\d{3} s, vmm_guest1/,
    );
    expect(v.notes).toContain("guest2: runnable without running for 14.000 s");
  });

  test("a progress oracle that only counts written bytes passes the starved run", () => {
    expect(progressWrittenBytesOnly(starved, scenario.expect).ok).toBe(true);
  });

  test("with its expect block (vm-starved.json) the starvation is the expected violation", () => {
    const expected = loadScenario(scenarioPath("vm-starved.json"));
    const j = judge(starved, starved, expected.expect).find((x) => x.verdict.oracle === "progress");
    expect(j?.asExpected).toBe(true);
  });
});
