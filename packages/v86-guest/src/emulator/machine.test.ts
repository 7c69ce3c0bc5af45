/**
 * The emulated PC is reproducible (issue: deterministic virtual time): two machines started
 * alike and driven by the same commands stop at the same places after the same instruction
 * counts and print the same kernel log, and so does one whose WebAssembly V8 also compiles
 * with its optimizing tier (`optimizedWasm`). Needs the real-guest assets (`pnpm guest-assets`).
 */
import { describe, expect, it } from "vitest";
import { GUEST_ASSETS_COMMAND, guestAssetPaths, guestAssetsPresent } from "../assets/fetch.js";
import { type MachineOptions, type MachineStop, V86Machine } from "./machine.js";

const present = guestAssetsPresent();
if (!present)
  console.warn(`v86-guest: real-guest tests skipped; run \`${GUEST_ASSETS_COMMAND}\` first`);

const options: MachineOptions = {
  assets: guestAssetPaths(),
  cmdline: "console=ttyS0,115200 loglevel=4 tsc=unstable rdinit=/init",
  memorySize: 128 * 1024 * 1024,
  instructionsPerMs: 1_000_000,
  window: { base: 0xfe000000, size: 0x1000 },
  epochMs: Date.UTC(2026, 0, 1),
  seed: 7,
};

/** Drives a machine for `untilMs` of virtual time, answering every access with 0. */
function drive(machine: V86Machine, untilMs: number): string[] {
  const trace: string[] = [];
  let now = 0;
  let last = 0;
  while (now < untilMs) {
    let stop: MachineStop = machine.run(now);
    for (;;) {
      now += (stop.instructions - last) / options.instructionsPerMs;
      last = stop.instructions;
      if (stop.kind === "slice") break;
      trace.push(`${stop.kind} ${stop.address.toString(16)}/${stop.width} at ${stop.instructions}`);
      stop = machine.reply(0, now);
    }
    trace.push(`slice ${stop.instructions}${stop.halted ? ` halt ${stop.nextTimerMs}` : ""}`);
    if (stop.halted) now += Math.max(stop.nextTimerMs, 0.001);
  }
  return trace;
}

describe.skipIf(!present)("the emulated PC under the simulation's clock", () => {
  it("boots Debian's kernel the same way twice, and again with V8's optimizing tier", async () => {
    const [a, b] = await Promise.all([V86Machine.start(options), V86Machine.start(options)]);
    try {
      const first = drive(a, 2500);
      const second = drive(b, 2500);
      expect(second).toEqual(first);
      expect(a.serialText()).toBe(b.serialText());
      // 2.5 virtual seconds at 1000 MIPS: the firmware and the kernel's decompressor ran.
      const instructions = Number(/slice (\d+)/.exec(first.at(-1) ?? "")?.[1]);
      expect(instructions).toBeGreaterThan(2e9);
      // The same boot with TurboFan recompiling v86's hot code and its JIT's output: only the
      // host code differs, so the guest stops at the same places with the same counts.
      await Promise.all([a.stop(), b.stop()]);
      const optimized = await V86Machine.start({ ...options, optimizedWasm: true });
      try {
        expect(drive(optimized, 2500)).toEqual(first);
        expect(optimized.serialText()).toBe(a.serialText());
      } finally {
        await optimized.stop();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 600_000);
});
