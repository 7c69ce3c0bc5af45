/**
 * VirtIO 1.2 §2.7.10 with EVENT_IDX: the device interrupts when the used index passes the
 * driver's `used_event`; Linux's `virtqueue_get_buf` stores `last_used_idx` there after each
 * buffer it takes, so every later buffer interrupts again. Both branches: Linux's rule gives
 * one interrupt per typed key, the planted front end that never writes `used_event` gets
 * only the first.
 */
import { Feature, featureBit, hasFeature } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { neverUpdatesUsedEvent } from "../testing/planted.js";
import { ConsoleRig, runGuest } from "../testing/rig.js";
import type { UsedEventRule } from "./linux-driver.js";

/** Type `keys` one at a time; count the interrupts the device raises for each. */
function interruptsPerKey(keys: string, usedEvent?: UsedEventRule): number[] {
  const rig = new ConsoleRig({
    profile: "hardened",
    features: { eventIdx: true, indirectDesc: true },
    ...(usedEvent === undefined ? {} : { usedEvent }),
  });
  const probed = runGuest(rig.driver.probe());
  expect(probed.done && probed.value.ok).toBe(true);
  expect(hasFeature(rig.driver.features, Feature.EVENT_IDX)).toBe(true);
  const counts: number[] = [];
  for (const key of keys) {
    const before = rig.irqRaised;
    rig.typeInput(new TextEncoder().encode(key), 1);
    counts.push(rig.irqRaised - before);
    if (rig.takeIrq()) runGuest(rig.driver.handleInterrupt());
    runGuest(rig.driver.pollInput());
  }
  return counts;
}

describe("Linux front end keeps used_event current (EVENT_IDX)", () => {
  it("negotiates EVENT_IDX and INDIRECT_DESC when the device offers them", () => {
    const rig = new ConsoleRig({ features: { eventIdx: true, indirectDesc: true } });
    runGuest(rig.driver.probe());
    const both = featureBit(Feature.EVENT_IDX) | featureBit(Feature.INDIRECT_DESC);
    expect(rig.driver.features & both).toBe(both);
  });

  it("gets one interrupt per typed key", () => {
    expect(interruptsPerKey("hello")).toEqual([1, 1, 1, 1, 1]);
  });

  it("catches the planted bug: a front end that never updates used_event hears only the first key", () => {
    expect(interruptsPerKey("hello", neverUpdatesUsedEvent)).toEqual([1, 0, 0, 0, 0]);
  });
});
