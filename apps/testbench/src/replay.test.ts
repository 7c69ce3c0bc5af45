/**
 * The bundled scenarios end to end: the recorded QEMU boots of both guests go through
 * client queues, virt_tx, the driver and the PL011, and come out on the TX wire.
 */
import { fileURLToPath } from "node:url";
import { ORIGIN_VIRTUALISER, tagOrigin } from "@vmmux/sddf-queues";
import { beforeAll, describe, expect, test } from "vitest";
import { guestMetrics, wireOf } from "./metrics.js";
import { integrity, judge, progress, routing, wakeups } from "./oracles.js";
import { formatReport, terminalCast, terminalText } from "./report.js";
import { type RunResult, runScenario } from "./run.js";
import { loadScenario, withKnobs } from "./scenario.js";

const scenarioPath = (name: string) =>
  fileURLToPath(new URL(`../../../traces/scenarios/${name}`, import.meta.url));
const decode = (bytes: Iterable<number>) => new TextDecoder().decode(Uint8Array.from(bytes));

let equal: RunResult;
let starved: RunResult;

beforeAll(() => {
  equal = runScenario(loadScenario(scenarioPath("sddf-clients.json")));
  starved = runScenario(loadScenario(scenarioPath("starved.json")));
});

describe("default scenario: two guests at equal priority", () => {
  test("each guest's recorded boot appears complete and in order on the wire, then its echo", () => {
    expect(equal.idle).toBe(true);
    for (const g of equal.guests) {
      const text = decode(wireOf(equal, g.origin).map((w) => w.byte));
      expect(text.startsWith(g.traceText)).toBe(true);
      expect(text.length).toBe(g.enqueued.length);
    }
    const [g1, g2] = equal.guests;
    expect(decode(wireOf(equal, g1!.origin).map((w) => w.byte)).slice(g1!.traceText.length)).toBe(
      "ls\r\necho hi\r\n",
    );
    expect(decode(wireOf(equal, g2!.origin).map((w) => w.byte)).slice(g2!.traceText.length)).toBe(
      "whoami\r\n",
    );
  });

  test("output interleaves: guest2 starts long before guest1 finishes, and the wire alternates often", () => {
    const [m1, m2] = equal.guests.map((g) => guestMetrics(equal, g));
    expect(m2!.firstByteAt!).toBeLessThan(2.5);
    expect(m2!.firstByteAt!).toBeLessThan(m1!.lastByteAt! - 10);
    let switches = 0;
    let previous = -1;
    for (const w of equal.wire) {
      const origin = tagOrigin(w.tag);
      if (origin === ORIGIN_VIRTUALISER) continue;
      if (previous !== -1 && origin !== previous) switches++;
      previous = origin;
    }
    expect(switches).toBeGreaterThan(50);
  });

  test("units are wrapped in the client's colour (red for client 0, green for client 1)", () => {
    const text = terminalText(equal);
    expect(text.startsWith("Begin input\r\n")).toBe(true);
    expect(text).toContain("\x1b[31m[    0.000000] Booting Linux on physical CPU");
    expect(text).toMatch(/\x1b\[32m\[ {4}0\.000000\] Booting Linux/);
  });

  test("typed bytes reach the guest selected at the time; switch sequences reach none", () => {
    const [g1, g2] = equal.guests;
    expect(decode(g1!.received.map((r) => r.byte))).toBe("ls\recho hi\r");
    expect(decode(g2!.received.map((r) => r.byte))).toBe("whoami\r");
    expect(equal.loss.virtRx.R6).toBe(6);
  });

  test("the integrity, routing and progress oracles pass", () => {
    const scenario = loadScenario(scenarioPath("sddf-clients.json"));
    for (const v of [integrity(equal), routing(equal), progress(equal, scenario.expect)]) {
      expect(v.findings).toEqual([]);
      expect(v.ok).toBe(true);
    }
  });

  test("the terminal recording holds the whole wire, in time order", () => {
    const cast = terminalCast(equal, "t");
    expect(cast.events.map((e) => e.data).join("")).toBe(terminalText(equal));
    const times = cast.events.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  test("the report lists both guests with their measured numbers", () => {
    const report = formatReport(equal);
    expect(report).toMatch(/^guest1 +14833 +14833 +1\.10\d s/m);
    expect(report).toContain("ran until idle");
    expect(report).toContain("R6_switchBytesConsumed=6");
  });
});

describe("starved scenario: unequal priorities, the higher guest never idles", () => {
  test("guest2 prints nothing until guest1's trace is over, then everything", () => {
    const [m1, m2] = starved.guests.map((g) => guestMetrics(starved, g));
    const trace1 = loadScenario(scenarioPath("starved.json")).guests[0]!.trace;
    const guest1TraceEnd = trace1.events.filter((e) => e.code === "o").at(-1)!.time;
    expect(m1!.firstByteAt!).toBeLessThan(1.2);
    expect(m2!.firstByteAt!).toBeGreaterThan(guest1TraceEnd);
    expect(m2!.complete).toBe(true);
    // Its trace asked for output at 1.45 s; the first byte left more than 11 s later.
    expect(m2!.timeToFirstByte!).toBeGreaterThan(11);
    // Against the equal-priority run, guest2's first byte is about 11 s later.
    const equal2 = guestMetrics(equal, equal.guests[1]!);
    expect(m2!.firstByteAt! - equal2.firstByteAt!).toBeGreaterThan(10);
  });

  test("input typed to the starved guest waits and is delivered once it runs", () => {
    const g2 = starved.guests[1]!;
    expect(decode(g2.received.map((r) => r.byte))).toBe("pwd\r");
    expect(g2.received[0]!.at / 1e9).toBeGreaterThan(12.9);
    expect(routing(starved).ok).toBe(true);
  });
});

describe("small-queues scenario: 4 KiB rings, reference vs hardened", () => {
  test("reference: a unit larger than the driver ring stalls both guests for good (T4), then putchar drops (T1)", () => {
    const scenario = loadScenario(scenarioPath("small-queues.json"));
    const run = runScenario(scenario);
    expect(run.idle).toBe(true);
    expect(run.loss.virtTx.T4).toBeGreaterThan(0);
    for (const g of run.guests) {
      const m = guestMetrics(run, g);
      expect(m.complete).toBe(false);
      expect(g.loss.T1).toBeGreaterThan(0);
    }
    expect(integrity(run).ok).toBe(true);
    const judged = judge(run, run, scenario.expect);
    expect(judged.map((j) => [j.verdict.oracle, j.verdict.ok, j.asExpected])).toEqual([
      ["integrity", true, true],
      ["routing", true, true],
      ["interleaving", true, true],
      ["determinism", true, true],
      ["progress", false, true],
      ["isolation", true, true],
      // The stalled units can never fit (T4): a counted stall, not a lost wake-up.
      ["wakeups", true, true],
    ]);
    expect(wakeups(run).notes.some((n) => n.includes("can never fit (T4)"))).toBe(true);
  });

  test("hardened: the same rings carry both boots completely", () => {
    const scenario = withKnobs(loadScenario(scenarioPath("small-queues.json")), {
      profile: "hardened",
    });
    const run = runScenario(scenario);
    expect(run.loss.virtTx.T4).toBe(0);
    for (const g of run.guests) expect(guestMetrics(run, g).complete).toBe(true);
  });
});
