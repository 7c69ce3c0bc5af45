/**
 * `--out` (issue 9 item 6): checked before the run with errors in words, and a set of
 * artefacts that is either the previous one or the whole new one, whenever a signal comes.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { OutputDir, OutputDirError } from "./output-dir.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const tsx = join(packageDir, "node_modules", ".bin", "tsx");
const child = join(packageDir, "src", "testing", "output-dir-child.ts");

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "vmmux-outdir-"));
}

function prepareError(path: string): string {
  try {
    OutputDir.prepare(path);
  } catch (error) {
    expect(error).toBeInstanceOf(OutputDirError);
    return (error as Error).message;
  }
  throw new Error(`prepare(${path}) succeeded`);
}

/** The directory's files and their contents, staging directories included. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    out[name] = name.startsWith(".vmmux-staging-")
      ? "(staging)"
      : readFileSync(join(dir, name), "utf8").slice(0, 9);
  }
  return out;
}

const PREVIOUS = { "a.txt": "old a.txt", "b.txt": "old b.txt", "c.txt": "old c.txt" };
const NEW = { "a.txt": "new a.txt", "b.txt": "new b.txt", "c.txt": "new c.txt" };

describe("OutputDir.prepare", () => {
  test("creates missing directories, one level at a time, and stages nothing yet", () => {
    const dir = join(scratch(), "x", "y");
    const out = OutputDir.prepare(dir);
    expect(out.dir).toBe(dir);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a file where the directory should be is a sentence, not EEXIST", () => {
    const file = join(scratch(), "f");
    writeFileSync(file, "");
    expect(prepareError(file)).toBe(
      `cannot write artefacts to ${file}: it is a file, not a directory`,
    );
    expect(prepareError(join(file, "sub"))).toBe(
      `cannot write artefacts to ${join(file, "sub")}: a part of the path before ${join(file, "sub")} is a file`,
    );
  });

  test("/proc/x is refused at once (recursive mkdir would never return)", () => {
    expect(prepareError("/proc/x")).toBe(
      "cannot write artefacts to /proc/x: /proc does not allow new files or directories",
    );
    expect(prepareError("/proc/x/y")).toContain("/proc does not allow new files or directories");
  });

  test("a read-only directory is refused with the permission named", () => {
    const dir = scratch();
    const locked = join(dir, "locked");
    mkdirSync(locked);
    chmodSync(dir, 0o755);
    chmodSync(locked, 0o555);
    // root may write anywhere: check as an ordinary user then.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    for (const [path, parent] of [
      [locked, locked],
      [join(locked, "new"), locked],
    ] as const) {
      const r = spawnSync(tsx, [child, "prepare", path], {
        encoding: "utf8",
        timeout: 60_000,
        ...asUser,
      });
      expect(r.stdout).toBe(
        `cannot write artefacts to ${path}: you do not have permission to write in ${parent}\n`,
      );
      expect(r.status).toBe(1);
    }
    expect(readdirSync(locked)).toEqual([]);
  });

  test("removes the staging directory of a process that no longer runs", () => {
    const dir = scratch();
    mkdirSync(join(dir, ".vmmux-staging-999999999-abc"));
    writeFileSync(join(dir, ".vmmux-staging-999999999-abc", "half"), "x");
    OutputDir.prepare(dir);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("OutputDir commit and abort", () => {
  test("commit replaces the previous set and leaves no staging behind", () => {
    const dir = scratch();
    for (const [name, text] of Object.entries(PREVIOUS)) writeFileSync(join(dir, name), text);
    const out = OutputDir.prepare(dir);
    for (const [name, text] of Object.entries(NEW)) writeFileSync(out.file(name), text);
    expect(contents(dir)).toEqual({ ...PREVIOUS, [readdirSync(dir)[0]!]: "(staging)" });
    expect(out.commit()).toEqual(Object.keys(NEW).map((n) => join(dir, n)));
    expect(contents(dir)).toEqual(NEW);
  });

  test("abort keeps the previous set; a name taken by a directory fails before any move", () => {
    const dir = scratch();
    for (const [name, text] of Object.entries(PREVIOUS)) writeFileSync(join(dir, name), text);
    const aborted = OutputDir.prepare(dir);
    writeFileSync(aborted.file("a.txt"), "new a.txt");
    aborted.abort();
    expect(contents(dir)).toEqual(PREVIOUS);

    rmSync(join(dir, "c.txt"));
    mkdirSync(join(dir, "c.txt"));
    const blocked = OutputDir.prepare(dir);
    for (const [name, text] of Object.entries(NEW)) writeFileSync(blocked.file(name), text);
    expect(() => blocked.commit()).toThrow(`${join(dir, "c.txt")} is a directory`);
    expect(existsSync(join(dir, "c.txt"))).toBe(true);
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("old a.txt");
    expect(readdirSync(dir).some((n) => n.startsWith(".vmmux-staging-"))).toBe(false);
  });
});

/** Run the writer child, signal it when it pauses, and return how it ended. */
function interrupted(dir: string, pause: string, signal: NodeJS.Signals) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>(
    (done, fail) => {
      // node itself (not the tsx wrapper, which turns a signal into an exit code).
      const p = spawn(process.execPath, ["--import", "tsx", child, "write", dir, pause], {
        cwd: packageDir,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let stdout = "";
      p.stdout.setEncoding("utf8");
      p.stdout.on("data", (text: string) => {
        stdout += text;
        if (stdout.includes("paused\n")) p.kill(signal);
      });
      p.on("error", fail);
      p.on("exit", (code, sig) => done({ code, signal: sig, stdout }));
    },
  );
}

describe("signals while artefacts are written (a child process)", () => {
  test.each([
    ["staged-none", "SIGINT"],
    ["mid-file", "SIGINT"],
    ["staged-all", "SIGINT"],
    ["mid-file", "SIGTERM"],
  ] as const)("at %s, %s leaves the previous set whole", async (pause, signal) => {
    const dir = scratch();
    for (const [name, text] of Object.entries(PREVIOUS)) writeFileSync(join(dir, name), text);
    const r = await interrupted(dir, pause, signal);
    expect(r.stdout).toBe("paused\n");
    expect(r.signal).toBe(signal);
    expect(contents(dir)).toEqual(PREVIOUS);
  });

  test("without a signal the new set is committed whole", async () => {
    const dir = scratch();
    for (const [name, text] of Object.entries(PREVIOUS)) writeFileSync(join(dir, name), text);
    const r = await interrupted(dir, "none", "SIGINT");
    expect([r.code, r.stdout]).toEqual([0, "done\n"]);
    expect(contents(dir)).toEqual(NEW);
    expect(readFileSync(join(dir, "b.txt")).length).toBe(1024 * 1024);
  });
});
