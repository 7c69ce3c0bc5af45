/**
 * The TX wake-up (reference virtio §4.8, sddf-serial §9, L13/T8): when the serial TX queue is
 * full libvmm requests a signal and stops; the example VMM ignores that signal, and a Linux
 * guest spinning for its buffer never kicks again, so output hangs until input arrives.
 * Hardened: the VMM resumes TX on the signal.
 */
import type { Profile } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { VmRig } from "./testing/index.js";

const MS = 1_000_000;
const block = (c: string) => `${c.repeat(2999)}\n`;
const events = [
  { time: 0.003, text: block("a") },
  { time: 0.003, text: block("b") },
];

function run(profile: Profile, typeAt?: number): VmRig {
  const rig = new VmRig({
    vms: [{ profile, queueSize: 0x1000, guest: { workload: { kind: "trace", events } } }],
    txDrain: { bytesPerTick: 256, tickNs: 50_000, untilNs: 30 * MS },
  });
  if (typeAt !== undefined) rig.type(0, typeAt, "x");
  rig.sys.runUntil(30 * MS);
  return rig;
}

describe("serial TX queue full", () => {
  it("reference: output stops after the first chain; the guest spins in put_chars", () => {
    const rig = run("reference");
    expect(rig.machine(0).tx.bytes.length).toBe(3000);
    const guest = rig.machine(0).guest()!;
    expect(guest.driver!.counters.spinIterations).toBeGreaterThan(1000);
    expect(rig.machine(0).vmm.findings.some((f) => f.message.includes("txSignalIgnored"))).toBe(
      true,
    );
  });

  it("reference: a key press (serial RX notification) restarts the stalled output", () => {
    const rig = run("reference", 20 * MS);
    const tx = rig.machine(0).tx;
    expect(tx.bytes.length).toBeGreaterThan(6000);
    const firstB = tx.bytes.indexOf("b".charCodeAt(0));
    expect(tx.times[firstB]).toBeGreaterThan(20 * MS);
  });

  it("hardened: the VMM resumes TX on virt_tx's signal and all output arrives in order", () => {
    const rig = run("hardened");
    const text = String.fromCharCode(...rig.machine(0).tx.bytes);
    expect(text).toBe(`${block("a")}${block("b")}`);
    expect(rig.machine(0).tx.times.at(-1)).toBeLessThan(10 * MS);
  });
});
