/**
 * The real Linux guest's boot against a trace-driven guest model in the same slot of the same
 * system (traces/systems/real-linux.system, guest2): wall seconds until its shell prompt is on
 * the wire, and vCPU exits per wall second over the whole run, each also as a ratio against the
 * trace-driven guest measured in the same process. Skipped, with the command to run, when the
 * real guest's boot files are absent.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tagOrigin } from "@vmmux/sddf-queues";
import { GUEST_ASSETS_COMMAND, GUEST_PROMPT, guestAssetsPresent } from "@vmmux/v86-guest";
import { type VmmConfig, VmmProgram } from "@vmmux/vmm";
import { runPrepared } from "../src/real/prepare.js";
import { parseScenario } from "../src/scenario.js";

const file = fileURLToPath(new URL("../../../traces/scenarios/real-linux.json", import.meta.url));

interface BootCase {
  readonly name: string;
  /** guest2's entry in the scenario. */
  readonly guest: Record<string, unknown>;
  readonly prompt: string;
}

const cases: BootCase[] = [
  {
    name: "trace-driven guest model",
    guest: { name: "guest2", kind: "vm", trace: "../recorded/qemu-arm64-guest2.cast" },
    prompt: "guest2:/# ",
  },
  { name: "real Linux (v86)", guest: { name: "guest2", kind: "real" }, prompt: GUEST_PROMPT },
];

async function measure(c: BootCase) {
  const doc = JSON.parse(readFileSync(file, "utf8"));
  doc.guests[1] = c.guest;
  const scenario = parseScenario(JSON.stringify(doc), file);
  const vmms: VmmProgram[] = [];
  const text: number[] = [];
  let promptWall: number | undefined;
  let promptVirtual: number | undefined;
  const decoder = new TextDecoder();
  const t0 = performance.now();
  await runPrepared(scenario, {
    keepWire: false,
    variants: {
      vmm: (config: VmmConfig) => {
        const vmm = new VmmProgram(config);
        vmms.push(vmm);
        return vmm;
      },
    },
    onWire: (byte, tag, _start, end) => {
      if (promptWall !== undefined || tagOrigin(tag) !== 2) return;
      text.push(byte);
      if (byte === 0x20 && decoder.decode(Uint8Array.from(text)).includes(c.prompt)) {
        promptWall = (performance.now() - t0) / 1000;
        promptVirtual = end / 1e9;
      }
    },
  });
  const wall = (performance.now() - t0) / 1000;
  const exits = vmms[1]?.counters.exits ?? 0;
  return { wall, promptWall, promptVirtual, exits, exitsPerSecond: exits / wall };
}

export async function runRealGuestBench(): Promise<void> {
  console.log("\nreal guest boot (guest2 of real-linux.system, with the emulator's start)");
  if (!guestAssetsPresent()) {
    console.log(`skipped: the real guest's boot files are absent; run \`${GUEST_ASSETS_COMMAND}\``);
    return;
  }
  const results = [];
  for (const c of cases) results.push({ name: c.name, ...(await measure(c)) });
  const base = results[0]!;
  const rows = [
    ["guest2", "wall s to prompt", "× model", "virtual s", "vCPU exits", "exits/s", "× model"],
    ...results.map((r) => [
      r.name,
      r.promptWall?.toFixed(2) ?? "never",
      r.promptWall === undefined || base.promptWall === undefined
        ? "-"
        : (r.promptWall / base.promptWall).toFixed(2),
      r.promptVirtual?.toFixed(3) ?? "-",
      r.exits.toLocaleString("en"),
      Math.round(r.exitsPerSecond).toLocaleString("en"),
      (r.exitsPerSecond / base.exitsPerSecond).toFixed(3),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(
      r
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join("  "),
    );
}
