/**
 * virt-tx-fairness.json and its reference twin: sDDF's virt_tx moves each client's published
 * unit whole into the one driver TX queue as soon as it fits (sddf-serial §5.3), and that queue
 * is FIFO (§5.5), so guest1's 64 KiB write fills it and guest2's short line, written 0.1 s
 * later, leaves only after all of it: delayed by the burst's time on the wire, nothing lost,
 * nothing reordered. A virt_tx that shares the queue by slices (testing/sliced-virt-tx.ts)
 * lets the line through within a few slices, which the same claims and the scenario's
 * expectation catch.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { wireOf } from "./metrics.js";
import type { RunResult } from "./run.js";
import { loadScenario } from "./scenario.js";
import { wireView } from "./stream/streamed.js";
import { type CheckResult, checkScenario } from "./system/check.js";
import { bundledScenarioPath, failedOracles, wireText } from "./testing/fault-checks.js";
import { SlicedVirtTx } from "./testing/sliced-virt-tx.js";

const BURST = 64 * 1024;
const LINE = "guest2: one short line, 0.1 s after guest1 began its write\r\n";

/** What the run shows about guest2's line and the burst ahead of it, from the wire. */
interface HeldBack {
  /** ns from guest2's write to the start of its first byte on the wire. */
  readonly delay: number;
  /** ns the wire spent on characters between guest2's write and its first byte. */
  readonly wireAhead: number;
  /** guest1's bytes that had not left by guest2's write and went first, and those after. */
  readonly guest1Ahead: number;
  readonly guest1Behind: number;
  /** guest1's bytes still to leave when guest2 wrote. */
  readonly guest1Due: number;
}

function heldBack(run: RunResult): HeldBack {
  const [g1, g2] = run.guests;
  const writtenAt = g2!.traceStart!;
  const first = wireOf(run, g2!.origin)[0]!.start;
  const wire = wireView(run);
  let wireAhead = 0;
  for (let i = 0; i < wire.length && wire.start(i) < first; i++) {
    const end = Math.min(wire.end(i), first);
    if (end > writtenAt) wireAhead += end - Math.max(wire.start(i), writtenAt);
  }
  const guest1 = wireOf(run, g1!.origin);
  const due = guest1.filter((w) => w.end > writtenAt);
  return {
    delay: first - writtenAt,
    wireAhead,
    guest1Ahead: due.filter((w) => w.start < first).length,
    guest1Behind: due.filter((w) => w.start > first).length,
    guest1Due: due.length,
  };
}

/**
 * The claims the scenario makes, each one that does not hold in `run` by name: guest2's line
 * waits for every byte of guest1's burst still due, its delay is at least their time on the
 * wire (`frame` ns a character) and at least `minDelay`, and the wire is busy all that time.
 */
function unmetClaims(run: RunResult, frame: number, minDelay: number): string[] {
  const h = heldBack(run);
  const unmet: string[] = [];
  if (h.guest1Ahead !== h.guest1Due || h.guest1Behind !== 0) unmet.push("burst first");
  if (h.delay < h.guest1Due * frame) unmet.push("delay covers the burst");
  if (h.delay < minDelay) unmet.push("delay");
  if (h.delay - h.wireAhead > 0.01 * h.delay) unmet.push("wire busy");
  return unmet;
}

/** guest2's bytes on the wire in the order it wrote them, and its line whole. */
function guest2Intact(run: RunResult): void {
  const g2 = run.guests[1]!;
  expect(wireText(run, g2.origin).text).toBe(LINE);
  expect(Uint32Array.from(wireOf(run, g2.origin), (w) => w.tag)).toEqual(g2.enqueuedTags);
}

/**
 * ns a character takes on the wire: `bits` bit times of the 24 MHz UART clock divided by
 * 16 × (IBRD + FBRD/64) (pl011 reference), IBRD 13 for 115200 baud (sddf-serial §7.6).
 */
const frameNs = (bits: number, fbrd: number) => (bits * (13 * 64 + fbrd) * 1e9) / (4 * 24e6);

describe.each([
  // hardened: 8N1, FBRD 1 (115 246 baud); reference: sDDF's driver, 8O1 (§7.2 step 8) and
  // FBRD 0 (115 385 baud, §7.6).
  { file: "virt-tx-fairness.json", frame: frameNs(10, 1), minDelay: 5.5e9 },
  { file: "virt-tx-fairness-reference.json", frame: frameNs(11, 0), minDelay: 6.0e9 },
])("$file: guest1's 64 KiB write ahead of guest2's line", ({ file, frame, minDelay }) => {
  let checked: CheckResult;
  beforeAll(() => {
    checked = checkScenario(loadScenario(bundledScenarioPath(file)));
  });

  test("check is green: nothing lost, nothing reordered, the expected delay met", () => {
    expect(failedOracles(checked)).toEqual([]);
    const g1 = checked.run.guests[0];
    expect(g1!.enqueued.length).toBe(BURST);
    expect(wireOf(checked.run, g1!.origin).length).toBe(BURST);
    guest2Intact(checked.run);
  });

  test("guest2's line waits for the whole burst still due, for its time on the wire", () => {
    const h = heldBack(checked.run);
    // guest1's bytes that left in the 0.1 s before guest2 wrote: about 1150 of 64 KiB.
    expect(h.guest1Due).toBeGreaterThan(BURST - 1200);
    expect(h.guest1Due).toBeLessThan(BURST);
    const g1 = wireOf(checked.run, checked.run.guests[0]!.origin)[0]!;
    expect(Math.abs(g1.end - g1.start - frame)).toBeLessThan(1);
    expect(unmetClaims(checked.run, frame, minDelay)).toEqual([]);
    // The wire ahead carried the burst and a colour pair per later 4 KiB buffer (§5.2, §5.5).
    expect(h.wireAhead).toBeGreaterThanOrEqual((h.guest1Due + 9 * 15) * frame);
  });
});

describe("virt-tx-fairness.json with a virt_tx that shares the driver queue by slices", () => {
  let checked: CheckResult;
  beforeAll(() => {
    const scenario = loadScenario(bundledScenarioPath("virt-tx-fairness.json"));
    checked = checkScenario(scenario, { variants: { virtTx: SlicedVirtTx } });
  });

  test("guest2's line overtakes most of the burst, so the claims and the expectation fail", () => {
    const h = heldBack(checked.run);
    expect(h.guest1Behind).toBeGreaterThan(BURST / 2);
    expect(h.delay).toBeLessThan(0.5e9);
    expect(unmetClaims(checked.run, frameNs(10, 1), 5.5e9)).toEqual([
      "burst first",
      "delay covers the burst",
      "delay",
    ]);
    // Only progress fails (guest2's first byte before the expected 5.78 s); still no loss.
    expect(failedOracles(checked)).toEqual(["progress"]);
    guest2Intact(checked.run);
  });
});
