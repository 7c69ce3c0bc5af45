/**
 * Live sessions in this process: a PassThrough is the user's keyboard, the written bytes are
 * the user's screen. Which guest printed what is read from virt_tx's colour framing.
 */
import { PassThrough, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { splitByColour } from "./colour-split.js";
import { LiveError } from "./errors.js";
import {
  type LiveOptions,
  type LiveResult,
  liveScenario,
  liveSession,
  scenarioNotes,
} from "./live.js";
import { LiveSystem } from "./system.js";

const scenarios = (name: string) =>
  fileURLToPath(new URL(`../../../../traces/scenarios/${name}`, import.meta.url));
const STARVED = scenarios("starved.json");

class Screen extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString("latin1");
    done();
  }
}

interface Session {
  readonly keyboard: PassThrough;
  readonly screen: Screen;
  readonly messages: Screen;
  readonly done: Promise<LiveResult>;
  /** Resolves once the screen shows `pattern` (rejects after `ms`). */
  waitFor(pattern: RegExp | ((text: string) => boolean), ms?: number): Promise<void>;
}

function session(options: Omit<LiveOptions, "stdin" | "stdout" | "stderr"> = {}): Session {
  const keyboard = new PassThrough();
  const screen = new Screen();
  const messages = new Screen();
  const done = liveSession({
    ...options,
    stdin: keyboard,
    stdout: screen,
    stderr: messages,
    handleSignals: false,
  });
  const waitFor = async (pattern: RegExp | ((text: string) => boolean), ms = 8000) => {
    const ok = typeof pattern === "function" ? pattern : (t: string) => pattern.test(t);
    const deadline = Date.now() + ms;
    while (!ok(screen.text)) {
      if (Date.now() > deadline) {
        throw new Error(`screen never matched ${String(pattern)}: ${JSON.stringify(screen.text)}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { keyboard, screen, messages, done, waitFor };
}

const PROMPT1 = "root@guest1:~# ";
const PROMPT2 = "root@guest2:~# ";
const guestText = (s: Session) => splitByColour(s.screen.text, 2).clients;

describe("vmmux live (in process)", () => {
  test("both guests boot to their prompts; typing goes to guest1; Ctrl+\\ 1 Enter switches to guest2 and 0 back", async () => {
    const s = session({ speed: 2 });
    await s.waitFor((t) => t.includes(PROMPT1) && t.includes(PROMPT2));
    s.keyboard.write("echo one\r");
    await s.waitFor(() => (guestText(s)[0] ?? "").includes("one\r\nroot@guest1"));
    s.keyboard.write("\x1c1\r");
    s.keyboard.write("echo two\r");
    await s.waitFor(() => (guestText(s)[1] ?? "").includes("two\r\nroot@guest2"));
    s.keyboard.write("\x1c0\recho three\r");
    await s.waitFor(() => (guestText(s)[0] ?? "").includes("three\r\nroot@guest1"));
    s.keyboard.end();
    const result = await s.done;
    const [g1, g2] = guestText(s);
    expect(g1).toBe(`${PROMPT1}echo one\r\none\r\n${PROMPT1}echo three\r\nthree\r\n${PROMPT1}`);
    expect(g2).toBe(`${PROMPT2}echo two\r\ntwo\r\n${PROMPT2}`);
    expect(result.end).toBe("end-of-input");
    expect(result.status).toBe(0);
    const [c1, c2] = result.guests;
    expect([c1?.bytesIn, c2?.bytesIn]).toEqual(["echo one\r".length + "echo three\r".length, 9]);
    expect(c1?.bytesOnWire).toBe(c1?.bytesOut);
    expect(c2?.bytesOnWire).toBe(c2?.bytesOut);
    expect(result.loss.R6_switchBytesConsumed).toBe(6);
    // The host-side notices follow virt_rx's own selection; they go to stderr, not the wire.
    expect(splitByColour(s.messages.text, 2).other).toMatch(
      /typing goes to guest2\][\s\S]*typing goes to guest1\]/,
    );
    expect(s.screen.text).not.toContain("[vmmux");
    expect(result.bytesTyped).toBe(9 + 3 + 9 + 3 + 11);
  }, 30_000);

  test("prints the help line first and a summary with loss points by name at the end", async () => {
    const s = session({ speed: 4, colour: false });
    s.keyboard.end("\x1c7\r");
    const result = await s.done;
    const lines = s.messages.text.split("\n");
    expect(lines.slice(0, 2)).toEqual([
      "vmmux live: your terminal is the UART. Switch input to guest1: Ctrl+\\ 0 Enter   guest2: Ctrl+\\ 1 Enter",
      "vmmux live: typing goes to guest1 now. Quit: Ctrl+] q   Help: Ctrl+] ?",
    ]);
    expect(s.messages.text).toMatch(/guest1 +0 +\d+ +\d+ +none/);
    // Client 7 does not exist: virt_rx consumes the sequence as an invalid one (R6).
    expect(result.loss.R6_invalidSequences).toBeGreaterThan(0);
    expect(s.messages.text).toContain(`R6_invalidSequences=${result.loss.R6_invalidSequences}`);
    expect(s.screen.text).not.toContain("\x1b[3");
  }, 30_000);

  test("Ctrl+] q quits at once, before the input ends; Ctrl+] ? repeats the help", async () => {
    const s = session({ speed: 2 });
    await s.waitFor((t) => t.includes(PROMPT2));
    s.keyboard.write("\x1d?");
    s.keyboard.write("\x1dq");
    const result = await s.done;
    expect(result.end).toBe("quit");
    expect(s.messages.text.match(/Quit: Ctrl\+\] q/g)?.length).toBe(2);
    expect(result.bytesTyped).toBe(0);
  }, 30_000);

  test("under reference, keys typed before the console is up are dropped and counted (R8)", async () => {
    // A wall clock that stands still until the keys are in, so they reach the UART at virtual
    // time 0 however slow this machine is; then 20 ms per 2 ms of real time.
    let wall = 0;
    const s = session({
      speed: 1,
      profile: "reference",
      wallClock: () => wall,
      holdPipedInput: false,
    });
    s.keyboard.end("early\r");
    const ticker = setInterval(() => {
      wall += 20;
    }, 2);
    const result = await s.done.finally(() => clearInterval(ticker));
    const g1 = result.guests[0];
    expect(result.bytesTyped).toBe(6);
    expect(g1?.bytesIn).toBe(0);
    expect(g1?.loss.R8_consoleInputDropped).toBe(6);
    expect(s.messages.text).toContain("profile reference");
    expect(s.messages.text).toContain("R8_consoleInputDropped=6");
  }, 30_000);

  test("a scenario's sDDF client guests replay their traces; the session says they have no shell", async () => {
    const s = session({ scenarioFile: STARVED, speed: 50 });
    s.keyboard.end();
    const result = await s.done;
    expect(s.messages.text).toContain(
      "guest1 is an sDDF client PD: it replays its trace and echoes what you type, but has no shell",
    );
    expect(s.messages.text).toContain("is not replayed: you are the keyboard");
    // Input ended at once, yet the session ran until both traces were printed.
    for (const g of result.guests) expect(g.bytesOnWire).toBe(g.bytesOut);
    expect(result.guests.every((g) => g.bytesOut > 1000)).toBe(true);
  }, 30_000);

  test("a scenario's hostile vm guest gets no shell, and the session says so", () => {
    const { scenario, workload } = liveScenario({ scenarioFile: scenarios("hostile.json") });
    const live = new LiveSystem({ scenario, workload, onWire: () => {} });
    expect(live.guests.map((g) => [g.name, g.shell])).toEqual([
      ["guest1", true],
      ["guest2", false],
    ]);
    expect(scenarioNotes(live, scenario)).toEqual([
      "guest2 is a hostile guest (it writes random registers and descriptors): it has no shell",
    ]);
  });

  test("rejects a speed that is not positive with a located error", async () => {
    await expect(liveSession({ speed: 0 })).rejects.toThrow(LiveError);
    await expect(liveSession({ speed: -1 })).rejects.toThrow("--speed: must be a positive number");
  });
});
