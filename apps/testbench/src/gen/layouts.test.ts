/**
 * Scenarios on real-shaped system files (issue 9 items 4 and 5): sdfgen's layout for sDDF's
 * examples/serial and for libvmm's virtio console example, libvmm's older dual-guest layout
 * (setvar_vaddr names, a third serial client and a PD with no model program), and a system
 * generated at run time. Each replays its two trace guests through roles found from program
 * images and topology; the generated system runs exactly as the file `vmmux gen` wrote.
 */
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { wireOf } from "../metrics.js";
import { integrity, progress, routing } from "../oracles.js";
import { type RunResult, runScenario } from "../run.js";
import { loadScenario } from "../scenario.js";

const scenarioPath = (name: string) =>
  fileURLToPath(new URL(`../../../../traces/scenarios/${name}`, import.meta.url));
const decode = (bytes: Iterable<number>) => new TextDecoder().decode(Uint8Array.from(bytes));

const layouts = ["sdfgen-clients.json", "sdfgen-vms.json", "libvmm-2024.json", "gen-vms.json"];
const runs = new Map<string, RunResult>();

beforeAll(() => {
  for (const name of layouts) runs.set(name, runScenario(loadScenario(scenarioPath(name))));
}, 600_000);

describe.each(layouts)("%s", (name) => {
  test("both recorded boots reach the wire complete, and the typing reaches the selected guest", () => {
    const run = runs.get(name)!;
    // Everything each guest wrote is on the wire, in order, including its trace's last line.
    const wire = run.guests.map((g) => decode(wireOf(run, g.origin).map((w) => w.byte)));
    run.guests.forEach((g, k) => {
      expect(wire[k]).toBe(decode(g.enqueued));
      expect(wire[k]).toContain(g.traceText.trimEnd().split("\n").at(-1));
    });
    expect(wire[0]).toContain("ls\r\n");
    expect(wire[1]).toContain("whoami\r\n");
    expect(wire[0]).not.toContain("whoami");
    for (const verdict of [integrity(run), routing(run), progress(run)]) {
      expect(verdict.findings).toEqual([]);
    }
  });
});

test("a generated system runs exactly as the file vmmux gen wrote for it", () => {
  expect(runs.get("gen-vms.json")!.digest).toBe(runs.get("sdfgen-vms.json")!.digest);
});

test("the older libvmm layout's PDs without a model program run idle", () => {
  const run = runs.get("libvmm-2024.json")!;
  expect(run.idlePds).toEqual(expect.arrayContaining(["BLK_VIRT", "BLK_DRIVER_VMM"]));
  expect(runs.get("sdfgen-vms.json")!.idlePds).toEqual([]);
});
