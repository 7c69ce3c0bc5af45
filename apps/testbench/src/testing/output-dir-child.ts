/**
 * A process that writes an artefact set through `OutputDir`, for the signal tests in
 * `output-dir.test.ts`: `prepare <dir>` only checks the directory (prints the error, exit 1);
 * `write <dir> <pause>` stages `a.txt`, `b.txt` (1 MiB, written in two halves) and `c.txt`
 * holding `new <name>`, prints `paused` at the point named by `<pause>` (`staged-none`,
 * `mid-file`, `staged-all`, or `none`) and waits there for a signal, then commits.
 */
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { OutputDir, OutputDirError } from "../output-dir.js";

const [mode, dir, pause = "none"] = process.argv.slice(2);

function waitHere(point: string): Promise<void> {
  if (point !== pause) return Promise.resolve();
  process.stdout.write("paused\n");
  return new Promise(() => {
    setInterval(() => undefined, 1000);
  });
}

try {
  const out = OutputDir.prepare(dir!);
  if (mode === "write") {
    const a = out.file("a.txt");
    await waitHere("staged-none");
    writeFileSync(a, "new a.txt");
    const fd = openSync(out.file("b.txt"), "w");
    writeSync(fd, "new b.txt".padEnd(512 * 1024, "."));
    await waitHere("mid-file");
    writeSync(fd, "".padEnd(512 * 1024, "."));
    closeSync(fd);
    writeFileSync(out.file("c.txt"), "new c.txt");
    await waitHere("staged-all");
    out.commit();
  }
  process.stdout.write("done\n");
} catch (error) {
  if (!(error instanceof OutputDirError)) throw error;
  process.stdout.write(`${error.message}\n`);
  process.exitCode = 1;
}
