/**
 * The default scenario types while both guests' shells are alive (issue 9 item 9): every typed
 * command's echo and answer reach the wire before that guest's `poweroff -f` powers it down.
 */
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { wireOf } from "./metrics.js";
import { runScenario } from "./run.js";
import { loadScenario } from "./scenario.js";

const file = fileURLToPath(new URL("../../../traces/scenarios/default.json", import.meta.url));
const decode = (bytes: Iterable<number>) => new TextDecoder().decode(Uint8Array.from(bytes));

test("every echo of the default scenario's typing is on the wire before its guest powers down", () => {
  const run = runScenario(loadScenario(file));
  const [g1, g2] = run.guests.map((g) => decode(wireOf(run, g.origin).map((w) => w.byte)));
  const before = (text: string, needle: string) => {
    const at = text.indexOf(needle);
    expect(at, needle).toBeGreaterThanOrEqual(0);
    expect(at, needle).toBeLessThan(text.indexOf("reboot: Power down"));
  };
  before(g1!, "ls\r\n");
  before(g1!, "echo hi\r\n");
  before(g2!, "whoami\r\n");
  expect(g1).not.toContain("whoami");
  expect(g2).not.toContain("echo hi");
});
