/**
 * Issue 9's acceptance: `vmmux replay` of the default scenario in a real terminal (a tmux
 * pane running bash), then Enter in the shell. The recorded guests' cursor-position queries
 * must not be answered into the shell: no `;21R`-style answers, no syntax error. The same
 * run with `--queries raw` shows the answers, which proves the pane can tell.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const repoDir = fileURLToPath(new URL("../../..", import.meta.url));
const socket = `vmmux-test-${process.pid}`;

const hasTmux = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;
if (!hasTmux) {
  console.warn("tmux not found: skipping the terminal test (apt-get install tmux to run it)");
}

function tmux(...args: string[]) {
  const r = spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** The pane's text, history included, once `marker` has been printed on a line of its own. */
function paneAfter(pane: string, marker: string): string {
  for (let i = 0; i < 600; i++) {
    const text = tmux("capture-pane", "-p", "-J", "-S", "-", "-t", pane);
    if (text.split("\n").includes(marker)) return text;
    spawnSync("sleep", ["0.1"]);
  }
  throw new Error(`${marker} never appeared in the pane`);
}

/** Replay the default scenario in a fresh bash, press Enter, run one echo: the shell's text. */
function replayInTmux(name: string, extra: string): string {
  const pane = `${name}:0.0`;
  tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", "bash --norc --noprofile");
  tmux("set-option", "-t", name, "history-limit", "50000");
  const done = `${name}-done`;
  const command =
    `PS1='$ ' HISTFILE=/dev/null; cd ${repoDir} && ` +
    `VMMUX_FROM_SOURCES=1 node ${join(packageDir, "bin/vmmux.js")} replay traces/scenarios/default.json ${extra}; ` +
    `tmux -L ${socket} wait-for -S ${done}`;
  tmux("send-keys", "-t", pane, "-l", command);
  tmux("send-keys", "-t", pane, "Enter");
  tmux("wait-for", done);
  // What the user does next: press Enter, then type a command.
  tmux("send-keys", "-t", pane, "Enter");
  tmux("send-keys", "-t", pane, "-l", "echo END-$((6*7))");
  tmux("send-keys", "-t", pane, "Enter");
  const text = paneAfter(pane, "END-42");
  tmux("kill-session", "-t", name);
  // The shell's part: after the report's last line.
  const lines = text.split("\n");
  const last = lines.findLastIndex((l) => l.startsWith("  system:"));
  expect(last).toBeGreaterThan(0);
  return lines.slice(last + 1).join("\n");
}

afterAll(() => {
  if (hasTmux) spawnSync("tmux", ["-L", socket, "kill-server"]);
});

describe.skipIf(!hasTmux)("vmmux replay in a terminal (tmux)", () => {
  test("the terminal answers no query into the shell: no R answers, no syntax error", () => {
    const shell = replayInTmux("filtered", "");
    expect(shell).not.toMatch(/\d*;\d+R/);
    expect(shell).not.toContain("syntax error");
    expect(shell).toContain("terminal queries in the guests' output left out");
    expect(shell).toMatch(/^END-42$/m);
  });

  test("with --queries raw the same run leaves the answers in the shell", () => {
    const shell = replayInTmux("raw", "--queries raw");
    expect(shell).toMatch(/\d*;\d+R|syntax error/);
  });
});
