/**
 * `vmmux live` as a user runs it: a child process (tsx on the sources, no build needed),
 * first with piped input, then, where tmux is installed, in a real terminal driven by
 * `tmux send-keys` and read back with `capture-pane`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { splitByColour } from "./colour-split.js";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));
const repoDir = fileURLToPath(new URL("../../../..", import.meta.url));
const tsx = join(packageDir, "node_modules", ".bin", "tsx");
const cli = join(packageDir, "src/cli.ts");
const hasTmux = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;

const PROMPT1 = "root@guest1:~# ";
const PROMPT2 = "root@guest2:~# ";

describe("vmmux live (child process)", () => {
  test("piped input: the switch sequence routes `echo hi` to guest2, whose shell answers; exit at end of input", () => {
    const child = spawnSync(
      tsx,
      ["--conditions=@vmmux/source", cli, "live", "--speed", "2", "--seed", "3"],
      { cwd: repoDir, input: "\x1c1\recho hi\r\x1c0\recho ho\r", timeout: 30_000 },
    );
    const stdout = child.stdout.toString("latin1");
    const stderr = child.stderr.toString("utf8");
    expect(child.status, stderr).toBe(0);
    const [g1, g2] = splitByColour(stdout, 2).clients;
    // Piped input is held until both shells have printed their prompt (a tty flushes earlier input).
    expect(g2).toBe(`${PROMPT2}echo hi\r\nhi\r\n${PROMPT2}`);
    expect(g1).toBe(`${PROMPT1}echo ho\r\nho\r\n${PROMPT1}`);
    expect(stderr).toContain("vmmux live: end-of-input;");
    expect(stderr).toContain("seed 3");
    expect(stderr).toMatch(/guest2 +8 +\d+ +\d+ +none/);
  }, 40_000);

  test("rejects an unknown profile with commander's located message", () => {
    const child = spawnSync(tsx, ["--conditions=@vmmux/source", cli, "live", "--profile", "x"], {
      cwd: repoDir,
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(child.status).toBe(1);
    expect(child.stderr).toContain("option '--profile <profile>' argument 'x' is invalid");
  }, 40_000);

  test.skipIf(!hasTmux)(
    "in a real terminal (tmux): prompts, echo, switching, colours, quit with Ctrl+] q and the terminal restored",
    async () => {
      const t = tmuxSession("quit");
      try {
        // capture-pane drops trailing blanks: a prompt at the end of a line loses its space.
        await t.waitFor(
          (text) => text.includes(PROMPT1.trimEnd()) && text.includes(PROMPT2.trimEnd()),
          "both prompts",
        );
        expect(t.pane()).toContain("Quit: Ctrl+] q");
        t.keys("-l", "echo one");
        t.keys("Enter");
        await t.waitFor((text) => /^one$/m.test(text), "guest1's answer");
        t.keys("-H", "1c", "31", "0d");
        await t.waitFor(
          (text) => text.includes("[vmmux live: typing goes to guest2]"),
          "the switch",
        );
        t.keys("-l", "uname -a");
        t.keys("Enter");
        await t.waitFor((text) => text.includes("Linux guest2 6.12.0-vmmux"), "guest2's answer");
        const text = t.pane();
        expect(text).toMatch(/root@guest1:~# echo one\n+one\nroot@guest1:~#/);
        expect(text).toMatch(/uname -a\nLinux guest2 [^\n]*\nroot@guest2:~#/);
        // virt_tx's colours: guest1 red (31), guest2 green (32).
        const coloured = t.pane(true);
        expect(coloured).toMatch(/\x1b\[31m[^\x1b]*root@guest1/);
        expect(coloured).toMatch(/\x1b\[32m[^\x1b]*uname -a\nLinux guest2/);
        t.keys("-H", "1d", "71");
        await t.waitFor((text) => text.includes("[exit 0]"), "the exit status");
        const after = t.pane();
        expect(after, after).toContain("vmmux live: quit;");
        expect(after).toMatch(/\[exit 0\]\nicanon/);
      } finally {
        t.close();
      }
    },
    40_000,
  );

  test.skipIf(!hasTmux)(
    "in a real terminal (tmux): SIGTERM ends the session with a summary, status 143 and the terminal restored",
    async () => {
      const t = tmuxSession("term");
      try {
        await t.waitFor((text) => text.includes(PROMPT2.trimEnd()), "guest2's prompt");
        const shell = t.tmux("display", "-p", "-t", "live", "#{pane_pid}").stdout.trim();
        // The pane's shell runs tsx, which runs vmmux in a node child. Signal that child, as a
        // user signals `node dist/cli.js`: tsx's own relay gives up after 30 ms on a busy machine.
        const childOf = (pid: string) =>
          spawnSync("pgrep", ["-P", pid, "-f", "cli.ts"], { encoding: "utf8" }).stdout.trim();
        const vmmux = childOf(childOf(shell));
        expect(vmmux).toMatch(/^\d+$/);
        process.kill(Number(vmmux), "SIGTERM");
        await t.waitFor((text) => text.includes("[exit 143]"), "the exit status");
        const after = t.pane();
        expect(after, after).toContain("vmmux live: signal;");
        expect(after).toMatch(/\[exit 143\]\nicanon/);
      } finally {
        t.close();
      }
    },
    40_000,
  );
});

/** `vmmux live` in a detached tmux session on a private server; the pane keeps its output. */
function tmuxSession(name: string) {
  const dir = mkdtempSync(join(tmpdir(), "vmmux-live-tmux-"));
  const script = join(dir, "session.sh");
  writeFileSync(
    script,
    [
      `cd '${repoDir}'`,
      `'${tsx}' --conditions=@vmmux/source '${cli}' live`,
      'echo "[exit $?]"',
      // Whether the terminal is back in canonical mode after vmmux left it.
      "stty -a | grep -o -- '-\\?icanon'",
      "sleep 60",
    ].join("\n"),
  );
  // A private server whose socket lives (and is removed) with the temporary directory.
  const socket = join(dir, `tmux-${name}.sock`);
  const tmux = (...args: string[]) =>
    spawnSync("tmux", ["-S", socket, ...args], { encoding: "utf8" });
  const pane = (escapes = false) =>
    tmux("capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", "live").stdout;
  const started = tmux(
    "new-session",
    "-d",
    "-s",
    "live",
    "-x",
    "100",
    "-y",
    "30",
    `sh '${script}'`,
  );
  if (started.status !== 0) throw new Error(`tmux new-session failed: ${started.stderr}`);
  return {
    tmux,
    pane,
    keys: (...args: string[]) => tmux("send-keys", "-t", "live", ...args),
    async waitFor(what: (text: string) => boolean, label: string): Promise<void> {
      const deadline = Date.now() + 15_000;
      while (!what(pane())) {
        if (Date.now() > deadline) throw new Error(`pane never showed ${label}:\n${pane()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => {
      tmux("kill-server");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
