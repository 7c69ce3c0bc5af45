/**
 * Scenario files (DESIGN.md "Traces and scenarios"): a JSON document naming a Microkit
 * system file, one trace per guest, the keyboard input, the knobs and optional
 * expectations. The schema is a zod schema; every error names the file, the line of the
 * offending value and its field path.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  type Node as JsonNode,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import { z } from "zod";
import { type Asciicast, parseAsciicast } from "./asciicast.js";
import { looped } from "./system/trace-loop.js";

export { looped } from "./system/trace-loop.js";

import { ScenarioError } from "./errors.js";
import { fieldName, lineAt, locator, mostSpecific } from "./scenario-locate.js";

export { fieldName } from "./scenario-locate.js";

import { expectationSchemas, type oracleName } from "./expectations.js";
import { defectsKnob } from "./faults/vmm-knobs.js";
import {
  type GenOptions,
  scenarioSystemField,
  scenarioSystemSource,
} from "./gen/scenario-system.js";
import { type GuestInput, inputMode, replaysTrace } from "./input-mode.js";
import { type RealGuestSettings, realGuestSchema, realScenarioGuest } from "./real/schema.js";

/** Virtual seconds; capped so that nanoseconds stay exact integers (2^53 ns ≈ 104 days). */
const seconds = z.number().nonnegative().max(1e6);

/** Byte rings must be a power of two (sddf-serial §2.3) and whole pages (Microkit regions). */
const queueSize = z
  .number()
  .int()
  .min(0x1000)
  .max(2 ** 26)
  .refine((n) => (n & (n - 1)) === 0, "must be a power of two");

const guestName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a PD name: letters, digits, _ (at most 63)");

/** A trace looped into a long session (a real session of minutes from a recording of seconds). */
const repeat = z.strictObject({
  times: z.number().int().min(1).max(100_000),
  /** Seconds between one copy's last event and the next copy's start. */
  gap: seconds.default(0),
  /** Playback speed of every copy (2: each event at half its recorded time). */
  speed: z.number().min(0.01).max(1000).default(1),
});

const sddfClientGuest = z.strictObject({
  name: guestName,
  kind: z.literal("sddf-client"),
  /** The guest's PD in the system file; default: the guest's name. */
  pd: z.string().min(1).max(64).optional(),
  /** asciicast v2 file whose `o` events the guest prints, relative to the scenario. */
  trace: z.string().min(1),
  /** `idle`: waits for its timer between outputs; `busy`: computes until the next one (a booting guest). */
  cpu: z.enum(["idle", "busy"]).default("idle"),
  /** `echo`: echo typed bytes; `record`: only record them; `trace`: {@link inputMode}. */
  input: z.enum(["echo", "record", "trace"]).optional(),
  /** Play the trace `times` times back to back, `gap` seconds apart, at `speed`. */
  repeat: repeat.optional(),
  /** A buggy client: corrupts its TX queue's tail at its first wake-up at or after `at` s (faults/corrupt-client.ts). */
  corruptQueue: z.strictObject({ at: seconds }).optional(),
});

/**
 * A Linux guest on the vCPU of a libvmm-style VMM PD whose VirtIO console is the sDDF serial
 * client (DESIGN.md "Guests"): it boots, probes the console through MMIO exits, and replays
 * the trace's `o` events as written (already post-ONLCR) through its tty and the console.
 */
const vmGuest = z.strictObject({
  name: guestName,
  kind: z.literal("vm"),
  /** The VMM PD in the system file (it holds the `virtual_machine`); default `vmm_<name>`. */
  pd: z.string().min(1).max(64).optional(),
  /** Required for the `trace` workload; a `hostile` guest prints nothing. */
  trace: z.string().min(1).optional(),
  /**
   * `trace`: the Linux model replays the trace; `hostile`: a guest that writes random
   * registers, descriptors and avail indices (`@vmmux/vmm`'s `HostileGuest`), its script
   * drawn from the scenario seed (DESIGN.md oracle 6).
   */
  workload: z.enum(["trace", "hostile"]).default("trace"),
  /** `echo`: the tty echoes typed input (Linux's default); `record`: echo off; `trace`: see inputMode. */
  input: z.enum(["echo", "record", "trace"]).optional(),
  /** After the trace, start the guest model's small shell. */
  thenShell: z.boolean().default(false),
  /** Compute before the console probe, seconds. */
  boot: seconds.default(0.002),
  /**
   * Guest work per pass of its main loop, µs. libvmm traps WFI, so an idle guest spins
   * through this loop: it is the granularity of the guest's clock (trace events are
   * noticed at most this late) and the main cost of simulating an idle guest.
   */
  loopCostUs: z.number().int().min(1).max(10_000).default(20),
  /** Play the trace `times` times back to back, `gap` seconds apart, at `speed`. */
  repeat: repeat.optional(),
  /** A libvmm assert faults the VMM PD at its first guest exit at or after `at` s (faults/restart.ts). */
  fault: z.strictObject({ at: seconds }).optional(),
  /** The VMM PD's parent restarts it after a fault (`RestartingParent`, microkit reference §2.8). */
  restart: z
    .strictObject({
      /** Seconds the parent works between the fault and the restart. */
      delay: seconds.default(0),
      /** Restarts at most this many times; absent: unbounded. */
      maxRestarts: z.number().int().min(0).max(1_000_000).optional(),
    })
    .optional(),
});

const guest = z.discriminatedUnion("kind", [sddfClientGuest, vmGuest, realGuestSchema], {
  error: (issue) =>
    issue.code === "invalid_union" ? 'kind must be "sddf-client" or "vm"' : undefined,
});

/** The PD a guest entry runs in when `pd` is not given. */
function defaultPd(g: { readonly name: string; readonly kind: string }): string {
  return g.kind !== "sddf-client" ? `vmm_${g.name}` : g.name;
}

const keyStroke = z.strictObject({
  /** Seconds after boot at which the first byte starts on the wire. */
  at: seconds,
  /** Bytes typed (UTF-8), switch sequences included: `"\u001c1\r"` selects client 1. */
  text: z.string().min(1),
  /** Every frame of the stroke carries this line condition; `break`: a break per byte (faults/line-errors.ts). */
  line: z.enum(["framing", "parity", "break"]).optional(),
});

const keyboard = z.union(
  [
    z.array(keyStroke),
    z.strictObject({
      /** An asciicast whose `i` events are the typed input. */
      cast: z.string().min(1),
      /** Seconds added to every event time. */
      offset: seconds.default(0),
    }),
  ],
  { error: "must be a list of { at, text } or { cast, offset }" },
);

const pdKnob = z.strictObject({
  priority: z.number().int().min(0).max(254).optional(),
  /** µs, as in the system file. */
  budget: z.number().int().positive().optional(),
  period: z.number().int().positive().optional(),
});

const knobs = z.strictObject({
  profile: z.enum(["reference", "hardened"]).default("hardened"),
  seed: z
    .number()
    .min(0)
    .max(2 ** 32 - 1)
    .int()
    .default(1),
  /** Virtual seconds after which the run stops even if it has not gone idle. */
  durationLimit: z.number().positive().max(3600).default(60),
  /** virt_tx `enable_colour` (sddf-serial §4, §5.2). */
  colour: z.boolean().default(true),
  /** vmmux's line-atomic mux option (hardened only). */
  lineAtomic: z.boolean().default(false),
  /** Driver `default_baud` (sddf-serial §4). */
  baud: z.number().int().min(300).max(4_000_000).default(115_200),
  /** PL011 flavour: real hardware timing or QEMU's (pl011 reference). */
  uart: z.enum(["hardware", "qemu"]).default("hardware"),
  /** Data-region (byte ring) sizes overriding the system file's. */
  queueSizes: z
    .strictObject({ driver: queueSize.optional(), client: queueSize.optional() })
    .default({}),
  /** Per-PD scheduling overrides over the system file. */
  pds: z.record(guestName, pdKnob).default({}),
  /**
   * Advance idle trapped-WFI loops by arithmetic (DESIGN.md "Cost follows work"); false
   * simulates every trap. Results are identical either way; absent means on.
   */
  fastForward: z.boolean().optional(),
  /** Seconds a guest may wait with work due before `progress` calls it starved; default a quarter of the run. */
  starvedAfter: z.number().positive().max(1e6).optional(),
  /** The VMMs yield at their console device's preemption points (`VmmConfig.devicePreemption`). */
  devicePreemption: z.boolean().optional(),
  /** Ring features the VMMs' consoles offer beyond their defaults (`VmmConfig.features`; hardened). */
  vmmFeatures: z
    .strictObject({
      eventIdx: z.boolean().optional(),
      indirectDesc: z.boolean().optional(),
      /** F_MULTIPORT with the one port (hardened; `early-input/multiport-knob.ts`). */
      multiport: z.boolean().optional(),
    })
    .optional(),
  /** Single VMM defect switches over the profile's, by name (`faults/vmm-knobs.ts`). */
  defects: defectsKnob.optional(),
});

const { guestExpectation, expectations } = expectationSchemas(guestName, seconds);

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    description: z.string().optional(),
    /** Microkit system file, relative to the scenario. */
    system: scenarioSystemField,
    guests: z.array(guest).min(1).max(61),
    keyboard: keyboard.default([]),
    knobs: knobs.default({
      profile: "hardened",
      seed: 1,
      durationLimit: 60,
      colour: true,
      lineAtomic: false,
      baud: 115_200,
      uart: "hardware",
      queueSizes: {},
      pds: {},
    }),
    expect: expectations.optional(),
  })
  .superRefine((value, ctx) => {
    const seen = new Map<string, number>();
    for (const [index, g] of value.guests.entries()) {
      const pd = g.pd ?? defaultPd(g);
      if (seen.has(pd)) {
        ctx.addIssue({
          code: "custom",
          path: ["guests", index, g.pd === undefined ? "name" : "pd"],
          message: `PD '${pd}' is already used by guests[${seen.get(pd)}]`,
        });
      }
      seen.set(pd, index);
    }
    if (value.knobs.lineAtomic && value.knobs.profile === "reference") {
      ctx.addIssue({
        code: "custom",
        path: ["knobs", "lineAtomic"],
        message: "the line-atomic mux exists only under the hardened profile",
      });
    }
    for (const [index, g] of value.guests.entries()) {
      const replays = g.kind === "sddf-client" || (g.kind === "vm" && g.workload === "trace");
      if (replays && g.trace === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["guests", index, "trace"],
          message: "a guest that replays a trace needs `trace`",
        });
      }
    }
    for (const name of Object.keys(value.expect?.guests ?? {})) {
      if (!value.guests.some((g) => g.name === name)) {
        ctx.addIssue({
          code: "custom",
          path: ["expect", "guests", name],
          message: `no guest named '${name}'`,
        });
      }
    }
  });

/** The schema as JSON Schema (draft 2020-12) for editors: `vmmux schema`. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchema, { io: "input", unrepresentable: "any" });
}

export type ScenarioInput = z.input<typeof scenarioSchema>;
type ScenarioDocument = z.output<typeof scenarioSchema>;
export type Knobs = ScenarioDocument["knobs"];
export type Expectations = NonNullable<ScenarioDocument["expect"]>;
export type GuestExpectation = z.output<typeof guestExpectation>;
export type OracleName = z.output<typeof oracleName>;
export type GuestCpu = "idle" | "busy";
export type { GuestInput };

interface ScenarioGuestBase {
  readonly name: string;
  /** PD name in the system file (the client PD, or the VMM PD of a `vm` guest). */
  readonly pd: string;
  /** Empty for a hostile guest without a trace. */
  readonly tracePath: string;
  /** A hostile guest without a trace has an empty one. */
  readonly trace: Asciicast;
  readonly input: GuestInput;
  /** The keyboard types the trace's `"i"` events to it (`input-mode.ts`). */
  readonly replaysTyping?: boolean;
}

/** A guest that is an sDDF serial client PD (sddf-serial §8). */
export interface SddfClientScenarioGuest extends ScenarioGuestBase {
  readonly kind: "sddf-client";
  readonly cpu: GuestCpu;
  /** The client corrupts its TX queue at this many seconds. */
  readonly corruptQueue?: { readonly at: number };
}

/** A Linux guest on a VMM's vCPU, its console a VirtIO console bridged to sDDF serial. */
export interface VmScenarioGuest extends ScenarioGuestBase {
  readonly kind: "vm";
  /** `hostile`: the guest is `@vmmux/vmm`'s `HostileGuest`, its script from the scenario seed. */
  readonly workload: "trace" | "hostile" | "real";
  /** `real`: a real Linux kernel on an emulated PC (`kind: "real"` in the file, real/schema.ts). */
  readonly real?: RealGuestSettings;
  readonly thenShell: boolean;
  /** Compute before the console probe, seconds. */
  readonly boot: number;
  /** Guest work per pass of its main loop, µs. */
  readonly loopCostUs: number;
  /** The VMM faults at its first exit at or after this many seconds. */
  readonly fault?: { readonly at: number };
  /** Its parent PD restarts the faulted VMM (`delay` seconds). */
  readonly restart?: { readonly delay: number; readonly maxRestarts?: number | undefined };
}

/** One guest with its trace loaded. */
export type ScenarioGuest = SddfClientScenarioGuest | VmScenarioGuest;

/** A line condition a keystroke's frames carry (pl011 reference §6.3). */
export type KeyLine = "framing" | "parity" | "break";

/** One keyboard entry: bytes that start on the wire at `at` seconds. */
export interface KeyStroke {
  readonly at: number;
  readonly text: string;
  /** Each frame carries this line condition. */
  readonly line?: KeyLine;
}

/** A validated scenario with paths resolved and traces loaded. */
export interface Scenario {
  readonly file: string;
  readonly description: string | undefined;
  readonly systemPath: string;
  /** A generated system (`"system": { "gen": { "vms": 2 } }`) instead of the file at systemPath. */
  readonly systemGen?: GenOptions;
  readonly guests: readonly ScenarioGuest[];
  /** Sorted by time (stable). */
  readonly keyboard: readonly KeyStroke[];
  readonly knobs: Knobs;
  readonly expect: Expectations | undefined;
  /** 1-based line of a field of the document (the nearest existing ancestor). */
  lineOf(path: readonly (string | number)[]): number;
}

const EMPTY_CAST: Asciicast = { header: { version: 2, width: 80, height: 24 }, events: [] };

function readText(path: string, file: string, line: number, field: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ScenarioError(file, line, field, `cannot read ${path} (${(error as Error).message})`);
  }
}

function loadCast(path: string, file: string, line: number, field: string): Asciicast {
  return parseAsciicast(readText(path, file, line, field), path);
}

/**
 * Validate a scenario text. `file` names it in errors and is the base of its relative
 * paths. Traces are read and parsed; the system file is only resolved (it is loaded when a
 * run is built, so `vmmux sdf` errors stay the SDF parser's own).
 */
export function parseScenario(text: string, file: string): Scenario {
  const errors: ParseError[] = [];
  let root: JsonNode | undefined;
  let value: unknown;
  try {
    root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
    value = errors.length === 0 ? JSON.parse(text) : undefined;
  } catch (error) {
    // Only a pathological nesting depth exhausts the parsers' stacks.
    if (!(error instanceof RangeError)) throw error;
    throw new ScenarioError(file, 1, "", "not valid JSON (nested too deeply)");
  }
  const first = errors[0];
  if (first !== undefined) {
    throw new ScenarioError(
      file,
      lineAt(text, first.offset),
      "",
      `not valid JSON (${printParseErrorCode(first.error)})`,
    );
  }
  const lineOf = locator(text, root);
  const result = scenarioSchema.safeParse(value);
  if (!result.success) {
    const { path, message } = mostSpecific(result.error.issues[0]!);
    throw new ScenarioError(
      file,
      lineOf(path),
      fieldName(path),
      /^[A-Z][a-z]/.test(message) ? message.charAt(0).toLowerCase() + message.slice(1) : message,
    );
  }
  const doc = result.data;
  const base = dirname(resolve(file));
  const guests: ScenarioGuest[] = doc.guests.map((g, index) => {
    if (g.kind === "real") return realScenarioGuest(g);
    const tracePath = g.trace === undefined ? "" : resolve(base, g.trace);
    const trace =
      g.trace === undefined
        ? EMPTY_CAST
        : looped(
            loadCast(tracePath, file, lineOf(["guests", index, "trace"]), `guests[${index}].trace`),
            g.repeat,
          );
    const handTyped = !Array.isArray(doc.keyboard) || doc.keyboard.length > 0;
    const input = inputMode(g.kind, g.input, trace, handTyped);
    const replaysTyping = replaysTrace(trace, input, handTyped);
    const pd = g.pd ?? defaultPd(g);
    const common = { name: g.name, pd, tracePath, trace, input, replaysTyping };
    return g.kind === "vm"
      ? {
          ...common,
          kind: g.kind,
          workload: g.workload,
          thenShell: g.thenShell,
          boot: g.boot,
          loopCostUs: g.loopCostUs,
          ...(g.fault === undefined ? {} : { fault: g.fault }),
          ...(g.restart === undefined ? {} : { restart: g.restart }),
        }
      : {
          ...common,
          kind: g.kind,
          cpu: g.cpu,
          ...(g.corruptQueue === undefined ? {} : { corruptQueue: g.corruptQueue }),
        };
  });
  let keyboardStrokes: KeyStroke[];
  if (Array.isArray(doc.keyboard)) {
    keyboardStrokes = doc.keyboard.map((k) => ({
      at: k.at,
      text: k.text,
      ...(k.line === undefined ? {} : { line: k.line }),
    }));
  } else {
    const castPath = resolve(base, doc.keyboard.cast);
    const cast = loadCast(castPath, file, lineOf(["keyboard", "cast"]), "keyboard.cast");
    const offset = doc.keyboard.offset;
    keyboardStrokes = cast.events
      .filter((e) => e.code === "i")
      .map((e) => ({ at: e.time + offset, text: e.data }));
  }
  keyboardStrokes.sort((a, b) => a.at - b.at);
  const system = scenarioSystemSource(doc.system, base);
  return {
    file,
    description: doc.description,
    systemPath: system.path,
    ...(system.gen === undefined ? {} : { systemGen: system.gen }),
    guests,
    keyboard: keyboardStrokes,
    knobs: doc.knobs,
    expect: doc.expect,
    lineOf,
  };
}

/** Read and validate a scenario file. */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ScenarioError(path, 1, "", `cannot read the scenario (${(error as Error).message})`);
  }
  return parseScenario(text, path);
}

/** The same scenario with some knobs replaced (the CLI's `--seed`, `--no-colour`). */
export function withKnobs(scenario: Scenario, overrides: Partial<Knobs>): Scenario {
  return { ...scenario, knobs: { ...scenario.knobs, ...overrides } };
}
