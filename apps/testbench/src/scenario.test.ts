import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { AsciicastError } from "./asciicast.js";
import { ScenarioError, WiringError } from "./errors.js";
import { runScenario, scenarioSystem } from "./run.js";
import { loadScenario, looped, parseScenario } from "./scenario.js";
import { serialWiring } from "./wiring.js";

const scenariosDir = fileURLToPath(new URL("../../../traces/scenarios/", import.meta.url));
/** A scenario file name inside the bundled folder, so its relative paths resolve. */
const here = join(scenariosDir, "under-test.json");

function errorOf(text: string, file = here): ScenarioError {
  try {
    parseScenario(text, file);
  } catch (error) {
    if (error instanceof ScenarioError) return error;
    throw error;
  }
  throw new Error("expected a scenario error");
}

const guest = (name: string, extra = "") =>
  `{ "name": "${name}", "kind": "sddf-client", "trace": "../recorded/qemu-arm64-${name}.cast"${extra} }`;

const valid = (knobs = "{}", guests = `${guest("guest1")},\n    ${guest("guest2")}`) => `{
  "system": "../systems/serial-two-guests.system",
  "guests": [
    ${guests}
  ],
  "knobs": ${knobs}
}`;

describe("bundled scenarios", () => {
  test.each([
    "sddf-clients.json",
    "starved.json",
    "small-queues.json",
    "default.json",
    "vm-starved.json",
    "hostile.json",
    "hostile-reference.json",
    "wakeup-window.json",
  ])("%s validates and its system has the wiring it needs", (name) => {
    const scenario = loadScenario(join(scenariosDir, name));
    expect(scenario.guests.map((g) => g.name)).toEqual(["guest1", "guest2"]);
    const wiring = serialWiring(scenarioSystem(scenario), scenario.guests);
    // Channel ids are read from the system file, not assumed (sddf-serial §11).
    expect(wiring.virtTx.clientChannels).toEqual([1, 2]);
    expect(wiring.driver).toMatchObject({ irq: 33, irqChannel: 0, txChannel: 1, rxChannel: 2 });
    for (const g of wiring.guests) {
      if (g.kind === "vm") {
        // libvmm's examples: channel 1 to virt_tx, 2 to virt_rx; RAM at 0x4000_0000.
        expect([g.txChannel, g.rxChannel, g.vmName, g.ramRegion, g.guestBase]).toEqual([
          1,
          2,
          g.pd.replace("vmm_", ""),
          `${g.pd.replace("vmm_", "")}_ram`,
          0x4000_0000,
        ]);
      } else {
        expect([g.txChannel, g.rxChannel, g.timerChannel]).toEqual([0, 1, 2]);
      }
    }
  });

  test("the starved scenario's knob raises guest1's priority over the system file", () => {
    const scenario = loadScenario(join(scenariosDir, "starved.json"));
    const pds = scenarioSystem(scenario).protectionDomains;
    expect(pds.find((p) => p.name === "guest1")?.priority).toBe(110);
    expect(pds.find((p) => p.name === "guest2")?.priority).toBe(100);
  });
});

describe("scenario errors name the file, the line and the field", () => {
  test("malformed JSON points at the line of the syntax error", () => {
    const e = errorOf('{\n  "system": "x",\n  "guests": [,]\n}');
    expect([e.line, e.field]).toEqual([3, ""]);
    expect(e.message).toMatch(/under-test\.json:3: \(file\): not valid JSON/);
  });

  test("a bad keystroke is reported inside the keyboard list, not at the union", () => {
    const e = errorOf(
      valid("{}").replace(
        '"knobs"',
        '"keyboard": [\n    { "at": 1, "text": "a" },\n    { "at": -2, "text": "b" }\n  ],\n  "knobs"',
      ),
    );
    expect([e.line, e.field]).toEqual([9, "keyboard[1].at"]);
    const whole = errorOf(valid("{}").replace('"knobs"', '"keyboard": 7,\n  "knobs"'));
    expect([whole.line, whole.field, whole.problem]).toEqual([
      7,
      "keyboard",
      "must be a list of { at, text } or { cast, offset }",
    ]);
  });

  test("pathological nesting is a located error, not a crash", () => {
    const e = errorOf("[".repeat(100_000));
    expect([e.line, e.field, e.problem]).toEqual([1, "", "not valid JSON (nested too deeply)"]);
  });

  test("a missing required field is reported at the object that lacks it", () => {
    const e = errorOf('{\n  "guests": []\n}');
    expect([e.line, e.field]).toEqual([1, "system"]);
  });

  test("a guest of an unknown kind names guests[i].kind on its line", () => {
    const e = errorOf(
      valid(
        "{}",
        `${guest("guest1")},\n    ${guest("guest2").replace("sddf-client", "container")}`,
      ),
    );
    expect(e.field).toBe("guests[1].kind");
    expect(e.line).toBe(5);
    expect(e.problem).toBe('kind must be "sddf-client" or "vm"');
  });

  test("a vm guest's own fields are checked, and client-only fields are refused on it", () => {
    const vm = (extra: string) =>
      valid(
        "{}",
        `${guest("guest1")},\n    ${guest("guest2", extra).replace("sddf-client", "vm")}`,
      );
    expect(errorOf(vm(', "loopCostUs": 0')).field).toBe("guests[1].loopCostUs");
    expect(errorOf(vm(', "cpu": "busy"')).field).toBe("guests[1].cpu");
    const ok = parseScenario(vm(', "thenShell": true'), here).guests[1]!;
    expect(ok).toMatchObject({ kind: "vm", pd: "vmm_guest2", thenShell: true, loopCostUs: 20 });
  });

  test("an unknown key is reported at the key", () => {
    const e = errorOf(valid('{\n    "seed": 3,\n    "colour": true,\n    "colur": false\n  }'));
    expect([e.line, e.field]).toEqual([10, "knobs.colur"]);
  });

  test("a queue size that is not a power of two names knobs.queueSizes.client", () => {
    const e = errorOf(valid('{\n    "queueSizes": {\n      "client": 12288\n    }\n  }'));
    expect([e.line, e.field]).toEqual([9, "knobs.queueSizes.client"]);
    expect(e.problem).toContain("power of two");
  });

  test("the line-atomic mux under the reference profile is refused at knobs.lineAtomic", () => {
    const e = errorOf(valid('{\n    "profile": "reference",\n    "lineAtomic": true\n  }'));
    expect([e.line, e.field]).toEqual([9, "knobs.lineAtomic"]);
  });

  test("two guests on one PD are refused", () => {
    const e = errorOf(valid("{}", `${guest("guest1")},\n    ${guest("guest1")}`));
    expect([e.line, e.field]).toEqual([5, "guests[1].name"]);
  });

  test("an unreadable trace names guests[i].trace", () => {
    const e = errorOf(valid("{}", `${guest("guest1")},\n    ${guest("guest9")}`));
    expect([e.line, e.field]).toEqual([5, "guests[1].trace"]);
    expect(e.problem).toMatch(/cannot read .*qemu-arm64-guest9\.cast/);
  });

  test("a malformed trace is reported in the trace's own file, line and field", () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-scenario-"));
    writeFileSync(
      join(dir, "bad.cast"),
      '{"version":2,"width":80,"height":24}\n[1,"o","a"]\n[0.5,"o","b"]\n',
    );
    const text = `{"system": "s.system", "guests": [{"name": "guest1", "kind": "sddf-client", "trace": "bad.cast"}]}`;
    expect(() => parseScenario(text, join(dir, "s.json"))).toThrow(AsciicastError);
    expect(() => parseScenario(text, join(dir, "s.json"))).toThrow(
      /bad\.cast:3: time: goes backwards/,
    );
  });

  test("a knob for a PD the system lacks names knobs.pds.<name> when the run is built", () => {
    const scenario = parseScenario(
      valid('{\n    "pds": {\n      "nope": { "priority": 3 }\n    }\n  }'),
      here,
    );
    expect(() => runScenario(scenario)).toThrow(ScenarioError);
    expect(() => runScenario(scenario)).toThrow(
      /under-test\.json:9: knobs\.pds\.nope: no protection domain or virtual machine 'nope'/,
    );
  });

  test("a budget above the period is refused at the knob", () => {
    const scenario = parseScenario(
      valid('{\n    "pds": { "guest2": { "budget": 2000, "period": 1000 } }\n  }'),
      here,
    );
    expect(() => scenarioSystem(scenario)).toThrow(
      /:8: knobs\.pds\.guest2: budget 2000 µs exceeds period 1000 µs/,
    );
  });

  test("a guest PD without its serial regions is a wiring error naming the system file", () => {
    const scenario = parseScenario(
      valid("{}", `${guest("guest1")},\n    ${guest("guest2", ', "pd": "serial_virt_rx"')}`),
      here,
    );
    expect(() => runScenario(scenario)).toThrow(WiringError);
    expect(() => runScenario(scenario)).toThrow(
      /serial-two-guests\.system: guest 1: 'serial_virt_rx' is not a serial client \(the clients are 'guest1', 'guest2'\)/,
    );
  });
});

describe("keyboard input", () => {
  test("an input asciicast's i events become keystrokes, shifted by the offset", () => {
    const text = `{
      "system": "../systems/serial-two-guests.system",
      "guests": [${guest("guest1")}, ${guest("guest2")}],
      "keyboard": { "cast": "../recorded/qemu-arm64-guest1.cast", "offset": 0.5 }
    }`;
    const scenario = parseScenario(text, here);
    expect(scenario.keyboard.slice(0, 3)).toEqual([
      { at: 4.333702 + 0.5, text: "u" },
      { at: 4.424157 + 0.5, text: "n" },
      { at: 4.514627 + 0.5, text: "a" },
    ]);
    expect(scenario.keyboard.length).toBe(67);
  });
});

describe("looped traces (repeat)", () => {
  const cast = {
    header: { version: 2 as const, width: 80, height: 24 },
    events: [
      { time: 1, code: "o" as const, data: "a" },
      { time: 2, code: "o" as const, data: "b" },
    ],
  };

  test("copies follow each other `gap` seconds after the last event, at `speed`", () => {
    const out = looped(cast, { times: 3, gap: 0.5, speed: 2 });
    expect(out.events.map((e) => [e.time, e.data])).toEqual([
      [0.5, "a"],
      [1, "b"],
      [2, "a"],
      [2.5, "b"],
      [3.5, "a"],
      [4, "b"],
    ]);
    expect(looped(cast, { times: 1, gap: 3, speed: 1 })).toBe(cast);
  });

  test("the bundled long session loads with its loops", () => {
    const s = loadScenario(
      fileURLToPath(new URL("../../../traces/scenarios/dual-vm-10min.json", import.meta.url)),
    );
    for (const g of s.guests) {
      const last = g.trace.events.at(-1)!.time;
      expect(last).toBeGreaterThan(600);
      expect(last).toBeLessThan(s.knobs.durationLimit);
    }
  });
});
