// The replay leg of gen → sdf → replay for 2, 4 and 8 guests of each kind. The engine's wiring
// still finds the serial PDs and regions by vmmux's own names (wiring.ts), so until it takes
// its roles from `discoverSerialRoles`, the generated file is handed to it with the roles
// renamed to those names: what runs is the generated topology (PDs, priorities, sizes, channel
// ids, client order), found by role discovery; only the names differ.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSystemDescription } from "@vmmux/microkit-pd";
import { afterAll, describe, expect, it } from "vitest";
import { discoverSerialRoles, type SerialConnection } from "../roles.js";
import { runScenario } from "../run.js";
import { loadScenario } from "../scenario.js";
import { type GenKind, generateSerialSystem } from "./serial.js";

const dir = mkdtempSync(join(tmpdir(), "vmmux-gen-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `text` with each role's PD and regions under the names wiring.ts looks up. */
function withEngineNames(text: string, file: string): string {
  const roles = discoverSerialRoles(parseSystemDescription(text, { fileName: file }).system);
  const names = new Map<string, string>([
    [roles.driver.pd, "uart_driver"],
    [roles.virtTx.pd, "serial_virt_tx"],
  ]);
  if (roles.virtRx !== undefined) names.set(roles.virtRx.pd, "serial_virt_rx");
  const connection = (c: SerialConnection | undefined, dir: "tx" | "rx", owner: string) => {
    if (c === undefined) return;
    names.set(c.queue, `serial_${dir}_queue_${owner}`);
    names.set(c.data, `serial_${dir}_data_${owner}`);
  };
  connection(roles.driver.tx, "tx", "driver");
  connection(roles.driver.rx, "rx", "driver");
  for (const c of roles.clients) {
    connection(c.tx, "tx", c.pd);
    connection(c.rx, "rx", c.pd);
    if (c.timer !== undefined) names.set(c.timer.region, `timer_${c.pd}`);
  }
  return text.replace(/"([^"]+)"/g, (quoted, name: string) => {
    const to = names.get(name);
    return to === undefined ? quoted : `"${to}"`;
  });
}

function roundTrip(kind: GenKind, count: number) {
  const systemFile = join(dir, `${kind}-${count}.system`);
  writeFileSync(systemFile, withEngineNames(generateSerialSystem({ kind, count }), systemFile));
  const roles = discoverSerialRoles(
    parseSystemDescription(readFileSync(systemFile, "utf8"), { fileName: systemFile }).system,
  );
  const guests = roles.clients.map((c) => {
    const trace = join(dir, `${kind}-${count}-${c.index}.cast`);
    writeFileSync(
      trace,
      `{"version": 2, "width": 80, "height": 24}\n[0.01, "o", "hello from guest ${c.index}\\r\\n"]\n`,
    );
    return kind === "vms"
      ? { name: `g${c.index}`, kind: "vm", pd: c.pd, trace }
      : { name: `g${c.index}`, kind: "sddf-client", pd: c.pd, trace };
  });
  const scenarioFile = join(dir, `${kind}-${count}.json`);
  writeFileSync(
    scenarioFile,
    JSON.stringify({ system: systemFile, guests, knobs: { seed: 1, durationLimit: 0.5 } }),
  );
  return runScenario(loadScenario(scenarioFile));
}

describe("gen → sdf → replay", () => {
  for (const kind of ["clients", "vms"] as const) {
    for (const count of [2, 4, 8]) {
      it(`${count} ${kind === "clients" ? "sDDF clients" : "VMM guests"} each get their line onto the wire`, () => {
        const run = roundTrip(kind, count);
        const wire = Buffer.from(run.wire.map((w) => w.byte)).toString("latin1");
        expect(run.guests).toHaveLength(count);
        for (const g of run.guests) {
          expect(g.tracePrinted).toBe(g.traceEvents);
          expect(wire).toContain(`hello from guest ${g.index}\r\n`);
        }
      }, 60_000);
    }
  }
});
