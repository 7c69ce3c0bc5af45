/**
 * A real Linux guest in a bundled scenario (issue 10): Debian's kernel on the v86 emulator beside
 * a Linux guest model on the dual-VMM system. Typing goes through the UART, virt_rx's switch
 * sequence selects the real guest, its shell runs the command, and the command's output comes
 * back through its virtio console, virt_tx and the PL011 onto the wire. Two runs from fresh
 * emulators give the same digest, and a run's result lets its system and its emulator's RAM go.
 * Needs the real guest's boot files (`pnpm guest-assets`).
 */
import { fileURLToPath } from "node:url";
import { ORIGIN_KEYBOARD, tagOrigin } from "@vmmux/sddf-queues";
import { GUEST_ASSETS_COMMAND, GUEST_PROMPT, guestAssetsPresent } from "@vmmux/v86-guest";
import { beforeAll, describe, expect, test } from "vitest";
import { wireOf } from "../metrics.js";
import { integrity, judge, routing } from "../oracles.js";
import { type RunResult, runScenario } from "../run.js";
import { loadScenario, type Scenario } from "../scenario.js";
import { hasRealGuests, prepareGuests, runPrepared } from "./prepare.js";

const scenarioPath = (name: string) =>
  fileURLToPath(new URL(`../../../../traces/scenarios/${name}`, import.meta.url));
const decode = (bytes: Iterable<number>) => new TextDecoder().decode(Uint8Array.from(bytes));
const COMMAND = "echo hello from $(uname -r)\r";
const OUTPUT = "hello from 6.1.0-50-686\r\n";
const present = guestAssetsPresent();

/** What guest `origin` put on the wire, as text. */
const wireText = (run: RunResult, origin: number) => decode(wireOf(run, origin).map((w) => w.byte));

/**
 * One run as `runPrepared` makes it, with weak references to the real guest's vCPU program
 * (the run's system holds it) and its emulator's RAM.
 */
async function watchedRun(scenario: Scenario) {
  const prepared = await prepareGuests(scenario);
  const machine = prepared.machines.get("guest2")!;
  const ram = new WeakRef(machine.machine.ram().buffer);
  try {
    const run = runScenario(scenario, { prepared });
    return { run, ram, program: new WeakRef(machine.current!) };
  } finally {
    await prepared.stop();
  }
}

describe.skipIf(!present)(
  `a real Linux guest in a scenario (needs \`${GUEST_ASSETS_COMMAND}\`)`,
  () => {
    let run: RunResult;
    let rerun: RunResult;
    let reference: RunResult;
    let released: { ram: WeakRef<object>; program: WeakRef<object> };

    beforeAll(async () => {
      const scenario = loadScenario(scenarioPath("real-linux.json"));
      expect(hasRealGuests(scenario)).toBe(true);
      let ram: WeakRef<object>;
      let program: WeakRef<object>;
      ({ run, ram, program } = await watchedRun(scenario));
      released = { ram, program };
      rerun = await runPrepared(scenario);
      reference = await runPrepared(loadScenario(scenarioPath("real-linux-reference.json")));
    }, 1_500_000);

    test("the switch sequence selects the real guest and its shell's answer reaches the wire", () => {
      const [model, real] = run.guests;
      // Typed bytes through virt_rx: the switch sequence is consumed, the command reaches the
      // real guest's console as keyboard bytes, the model guest gets none of it.
      expect(run.loss.virtRx.R6).toBe(3);
      expect(decode(real!.received.map((r) => r.byte))).toBe(COMMAND);
      expect(real!.received.every((r) => tagOrigin(r.tag) === ORIGIN_KEYBOARD)).toBe(true);
      const command = new Set(real!.received.map((r) => r.tag));
      expect(model!.received.filter((r) => command.has(r.tag))).toEqual([]);
      expect(routing(run).ok).toBe(true);
      // On the wire, in this order: the prompt, the tty's echo of the command, its output, the
      // next prompt.
      const text = wireText(run, real!.origin);
      const prompt = text.indexOf(GUEST_PROMPT);
      const echo = text.indexOf("echo hello from $(uname -r)\r\n", prompt);
      const output = text.indexOf(OUTPUT, echo);
      expect(prompt).toBeGreaterThanOrEqual(0);
      expect(echo).toBeGreaterThan(prompt);
      expect(output).toBeGreaterThan(echo);
      expect(text.indexOf(GUEST_PROMPT, output)).toBeGreaterThan(output);
      // The model guest's recorded boot is on the wire too, complete.
      expect(wireText(run, model!.origin).startsWith(model!.traceText)).toBe(true);
    });

    test("every oracle holds and two runs give the same digest", () => {
      expect(run.digest).toBe(rerun.digest);
      const judgements = judge(run, rerun);
      expect(judgements.filter((j) => !j.asExpected).map((j) => j.verdict)).toEqual([]);
    });

    test("a run's result keeps neither its system nor its emulator's RAM", () => {
      // Later runs stopped their emulators, collecting garbage; the first result is still here.
      expect(run.guests[1]!.name).toBe("guest2");
      expect(released.program.deref()).toBeUndefined();
      expect(released.ram.deref()).toBeUndefined();
    });

    test("under the reference profile the same command answers on the wire", () => {
      const real = reference.guests[1]!;
      expect(wireText(reference, real.origin)).toContain(OUTPUT);
      expect(integrity(reference).ok).toBe(true);
      expect(routing(reference).ok).toBe(true);
    });
  },
);
