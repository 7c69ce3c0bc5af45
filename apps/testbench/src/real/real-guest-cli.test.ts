/**
 * The CLI with a real guest in the scenario, where nothing needs the emulator: `check
 * --explore` refuses it before any run, and a missing boot-file directory is a located
 * scenario error naming `pnpm guest-assets`.
 */
import { fileURLToPath } from "node:url";
import { afterEach, expect, test } from "vitest";
import { main } from "../commands.js";
import { ScenarioError } from "../errors.js";
import { loadScenario } from "../scenario.js";
import { prepareGuests } from "./prepare.js";

const file = fileURLToPath(
  new URL("../../../../traces/scenarios/real-linux.json", import.meta.url),
);

async function cli(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const status = await main(args, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    isTty: false,
    progressAfterMs: 0,
    record: { stdin: null, echo: null },
  });
  return { status, stdout, stderr };
}

const saved = process.env.VMMUX_GUEST_ASSETS;
afterEach(() => {
  if (saved === undefined) delete process.env.VMMUX_GUEST_ASSETS;
  else process.env.VMMUX_GUEST_ASSETS = saved;
});

test("check --explore refuses a scenario with a real guest, before running anything", async () => {
  const r = await cli("check", file, "--explore", "4");
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/--explore cannot run real guests/);
  expect(r.stdout).toBe("");
});

test("without the boot files, preparing a real guest names the command that fetches them", async () => {
  process.env.VMMUX_GUEST_ASSETS = "/nonexistent/vmmux-guest-assets";
  const scenario = loadScenario(file);
  const error = await prepareGuests(scenario).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ScenarioError);
  expect((error as ScenarioError).field).toBe("guests[1]");
  expect((error as ScenarioError).problem).toMatch(/run `pnpm guest-assets` once/);
});
