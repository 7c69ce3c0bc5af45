/**
 * Console hostile campaigns (issue 11 item 2): variable-length scripts that fast-check
 * shrinks, JSON counterexamples that replay. The clean device passes a campaign; the planted
 * device that sends device-writable buffers (L15) fails it with a script of a few operations.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { consoleScriptArb, replayConsole, runConsoleCampaign } from "./testing/campaign.js";
import type { HostileOp } from "./testing/hostile.js";
import { PLANTED_BUGS } from "./testing/planted.js";

const seed = 0x5eed_c0de;

describe("console hostile campaign", () => {
  it("runs clean against the hardened console and counts its operations", () => {
    const result = runConsoleCampaign({ seed, runs: 12 });
    expect(result.counterexample, JSON.stringify(result.counterexample)).toBeUndefined();
    expect(result.scripts).toBe(12);
    expect(result.ops).toBeGreaterThan(12 * 100);
    expect(result.txBytes).toBeGreaterThan(0);
  });

  it("shrinks the planted writable-buffer transmit to a few operations that replay from JSON", () => {
    const defects = PLANTED_BUGS.sendsWritableBuffers;
    const result = runConsoleCampaign({ seed, runs: 200, maxLength: 200, defects });
    const found = result.counterexample;
    expect(found?.violations.join()).toMatch(/wrong-direction|no valid transmit chain/);
    const script = JSON.parse(JSON.stringify(found?.script)) as HostileOp[];
    expect(script.length).toBeLessThanOrEqual(4);
    expect(replayConsole(script, { profile: "hardened", defects })?.violations).toEqual(
      found?.violations,
    );
    // The real device passes the same script.
    expect(replayConsole(script, { profile: "hardened" })).toBeUndefined();
  });

  it("generates short and long scripts up to the maximum, so failures can shrink", () => {
    const lengths = fc.sample(consoleScriptArb(), { seed, numRuns: 200 }).map((s) => s.length);
    expect(Math.min(...lengths)).toBeLessThan(60);
    expect(Math.max(...lengths)).toBeGreaterThan(700);
  });
});
