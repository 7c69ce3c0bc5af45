/**
 * A scenario's `system` field: a Microkit system file, or a system `vmmux gen` would write
 * (`{ "gen": { "vms": 2 } }` or `{ "gen": { "clients": 4 } }`, issue 9 item 4), generated in
 * memory by {@link generateSerialSystem} when the run is built.
 */
import { resolve } from "node:path";
import { parseSystemDescription, type SystemDescription } from "@vmmux/microkit-pd";
import { z } from "zod";
import { type GenOptions, generateSerialSystem, MAX_GEN_CLIENTS } from "./serial.js";

const count = z.number().int().min(1).max(MAX_GEN_CLIENTS);

export const scenarioSystemField = z.union([
  z.string().min(1),
  z.strictObject({
    gen: z.union([z.strictObject({ vms: count }), z.strictObject({ clients: count })]),
  }),
]);

/** Where a scenario's system comes from: `path` names it in messages (a generated one's is `gen:<kind>=<n>`). */
export type { GenOptions };

export interface ScenarioSystemSource {
  readonly path: string;
  readonly gen?: GenOptions;
}

/** The source of a validated `system` field; `base` is the scenario's directory. */
export function scenarioSystemSource(
  field: z.output<typeof scenarioSystemField>,
  base: string,
): ScenarioSystemSource {
  if (typeof field === "string") return { path: resolve(base, field) };
  const gen: GenOptions =
    "vms" in field.gen
      ? { kind: "vms", count: field.gen.vms }
      : { kind: "clients", count: field.gen.clients };
  return { path: `gen:${gen.kind}=${gen.count}`, gen };
}

/** The generated system of a `gen` source. */
export function generatedSystem(
  source: ScenarioSystemSource & { gen: GenOptions },
): SystemDescription {
  return parseSystemDescription(generateSerialSystem(source.gen), { fileName: source.path }).system;
}
