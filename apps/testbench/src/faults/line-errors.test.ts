import { Pl011Driver, type Pl011DriverConfig } from "@vmmux/pl011-uart";
import { beforeAll, describe, expect, test } from "vitest";
import { routing } from "../oracles.js";
import { runKeyboard } from "../replay-typing.js";
import type { RunResult } from "../run.js";
import { loadScenario, type Scenario } from "../scenario.js";
import { type CheckResult, checkScenario } from "../system/check.js";
import { bundledScenarioPath, failedOracles, receivedText } from "../testing/fault-checks.js";
import { Pl011DriverStoppingOnLineError } from "../testing/fault-variants.js";
import { injectedLineErrors, withoutLostKeys } from "./line-errors.js";

const PASTE = "the quick brown fox jumps over the lazy dog ".repeat(5);

describe("uart-errors: line errors and overruns under a saturated wire", () => {
  let scenario: Scenario;
  let checked: CheckResult;
  const drivers: Pl011Driver[] = [];
  /** The real driver, kept so the test can read its per-flag counters. */
  class ObservedDriver extends Pl011Driver {
    constructor(config: Pl011DriverConfig) {
      super(config);
      drivers.push(this);
    }
  }
  beforeAll(() => {
    scenario = loadScenario(bundledScenarioPath("uart-errors.json"));
    checked = checkScenario(scenario, { variants: { driver: ObservedDriver } });
  });

  test("check is green and the wire is saturated but for the paste", () => {
    expect(failedOracles(checked)).toEqual([]);
    const { wire, virtualTime } = checked.run;
    // From the guests' first byte on, characters leave back to back, except while the paste
    // (0.8 s to 0.82 s) leaves the capped driver without budget: 13.4 ms idle of 3 s.
    const first = wire.findIndex((w) => w.tag >>> 24 === 1 || w.tag >>> 24 === 2);
    expect(first).toBeGreaterThan(0);
    let idle = 0;
    for (let i = first + 1; i < wire.length; i++) {
      const gap = wire[i]!.start - wire[i - 1]!.end;
      if (gap === 0) continue;
      idle += gap;
      expect(wire[i - 1]!.end).toBeGreaterThan(0.8e9);
      expect(wire[i]!.start).toBeLessThan(0.83e9);
    }
    expect(idle).toBeGreaterThan(0);
    expect(idle).toBeLessThan(15e6);
    expect(wire.at(-1)!.end).toBeGreaterThan(virtualTime - 200_000);
  });

  test("every flagged byte is delivered and counted at R4 by kind, every overrun at R1", () => {
    const injected = injectedLineErrors(scenario.keyboard);
    expect(injected).toEqual({ framing: 6, parity: 3, break: 2 });
    const c = drivers[0]!.counters;
    expect(c.rxFramingErrors).toBe(injected.framing);
    expect(c.rxParityErrors).toBe(injected.parity);
    expect(c.rxBreaks).toBe(injected.break);
    // One overrun episode: the next character stored after it carries OE.
    expect(c.rxOverrunFlags).toBe(1);
    const { uart } = checked.run.loss;
    expect(uart.R4_rxErrorBytesDelivered).toBe(6 + 3 + 2 + 1);
    expect(uart.R1_rxFifoOverrun).toBeGreaterThan(0);
    expect(uart.R2_rxDisabledOrFlushed).toBe(0);
    // Each byte the FIFO lost is known by its tag, and all of them came from the paste.
    const lost = checked.run.keyboardLost!;
    expect(lost).toHaveLength(uart.R1_rxFifoOverrun);
    const paste = checked.run.keyboard.findIndex((k, i) => i > 0 && k.byte === 0x74);
    for (const seq of lost) {
      expect(seq).toBeGreaterThanOrEqual(paste);
      expect(seq).toBeLessThan(paste + PASTE.length);
    }
  });

  test("nothing else is lost: typed = delivered + switch bytes + R1, routed byte by byte", () => {
    const run = checked.run;
    const delivered = run.guests.reduce((n, g) => n + g.received.length + g.rxPending.length, 0);
    expect(run.keyboard.length).toBe(
      delivered + run.loss.virtRx.R6 + run.loss.uart.R1_rxFifoOverrun,
    );
    expect(run.loss.virtRx.R5).toBe(0);
    expect(run.keyboardInFlight).toBe(0);
    const judged = withoutLostKeys(run);
    expect(judged).toBeDefined();
    const verdict = routing(judged!);
    expect(verdict.findings).toEqual([]);
    expect(verdict.notes.join("\n")).not.toMatch(/not judged|reached no guest/);
    // The same judgement with one more byte gone from guest2 is a finding: it can fail.
    const short = {
      ...judged!,
      guests: judged!.guests.map((g, k) => (k === 1 ? { ...g, received: g.received.slice(1) } : g)),
    };
    expect(routing(short).findings).toEqual([
      "1 typed byte(s) reached no guest; counted: 0 at R5, 0 at R8, 0 still before virt_rx",
    ]);
    // check's own routing oracle judges the run the same way, past the overrun.
    const own = routing(run);
    expect(own.findings).toEqual([]);
    expect(own.notes.join("\n")).toMatch(/judged on the bytes virt_rx received/);
    // A break is a 0x00; a switch sequence typed with framing errors still switches.
    expect(receivedText(run, 0)).toBe("ok\rfe\rpe\r\0\0back\r");
    expect(receivedText(run, 1).endsWith("after\r")).toBe(true);
    expect(receivedText(run, 1)).toHaveLength(PASTE.length - lost(run) + "after\r".length);
  });

  test("the driver keeps running: alive at the end, both directions moving after the errors", () => {
    const driver = checked.run.threads.find((t) => t.name === "uart_driver")!;
    expect(["inactive", "dead"]).not.toContain(driver.state);
    expect(checked.run.pdFaults).toEqual([]);
    const afterTag = checked.run.guests[0]!.received.at(-1)!.tag;
    expect(afterTag).toBe(checked.run.keyboard.at(-1)!.tag);
  });

  test("planted: a driver that stops on a line error fails check", () => {
    const result = checkScenario(scenario, {
      variants: { driver: Pl011DriverStoppingOnLineError },
    });
    const failed = failedOracles(result);
    expect(failed).toContain("progress");
    const progress = result.judgements.find((j) => j.verdict.oracle === "progress")!;
    expect(progress.verdict.findings.join("\n")).toMatch(/guest1 starved: .* no bytes out/);
    // It delivered the FIFO it was reading when it met the first framing error, then nothing.
    expect(receivedText(result.run, 0)).toBe("ok\rfe\r");
  });
});

function lost(run: RunResult): number {
  return run.loss.uart.R1_rxFifoOverrun;
}

describe("line conditions through the typing merge", () => {
  test("explicit strokes keep their line condition among a replayed guest's typing", () => {
    const typist = {
      name: "guest2",
      kind: "sddf-client",
      replaysTyping: true,
      trace: { events: [{ time: 0.5, code: "i", data: "b" }] },
    };
    const scenario = {
      guests: [{ name: "guest1", kind: "sddf-client", trace: { events: [] } }, typist],
      keyboard: [
        { at: 0.2, text: "a", line: "framing" },
        { at: 0.5, text: "b", line: "break" },
        { at: 0.6, text: "c" },
      ],
    } as unknown as Scenario;
    const merged = runKeyboard(
      scenario,
      { scheme: "sddf", numClients: 2, switchChar: 0x1c, terminateNumChar: 0x0d },
      [0, 1],
    );
    // The explicit "b" keeps its break; guest2's own "b" at the same time follows a switch to it.
    expect(merged.strokes.map((k) => [k.at, k.text, k.line])).toEqual([
      [0.2, "a", "framing"],
      [0.5, "b", "break"],
      [0.5, "\u001c1\r", undefined],
      [0.5, "b", undefined],
      [0.6, "c", undefined],
    ]);
  });
});
