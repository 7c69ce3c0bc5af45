/**
 * How fast `vmmux sdf` rejects garbage, as MB/s and as a ratio against reading the same file
 * with `readFileSync` in this process (issue 9 item 3: before the input bounds, 50 MB of random
 * bytes took 276 s and 2.3 GB). Cases: random bytes (the first error is in the first
 * characters), one comment that runs to a bad character at the very end (stopped by the
 * 16 MiB run bound) and a well-formed file of tiny unknown elements (stopped by the node bound).
 * Also the peak resident set size of the process after each rejection (before any read). Run:
 * `pnpm --filter @vmmux/testbench exec tsx --conditions=@vmmux/source bench/sdf-garbage.bench.ts`
 * (`VMMUX_BENCH_MB`, default 50, sets the file size).
 */
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSystemFile, SdfError } from "@vmmux/microkit-pd";

const mb = Number(process.env.VMMUX_BENCH_MB ?? 50);
const bytes = Math.round(mb * 1e6);
const dir = mkdtempSync(join(tmpdir(), "vmmux-sdf-bench-"));

/** Writes `head`, then `body(n)` chunks up to `bytes` in all, then `tail`, never all in memory. */
function file(name: string, head: string, body: (n: number) => Buffer, tail: string): string {
  const path = join(dir, name);
  const fd = openSync(path, "w");
  writeSync(fd, head);
  const chunk = 1 << 20;
  for (let left = bytes - head.length - tail.length; left > 0; left -= chunk) {
    writeSync(fd, body(Math.min(chunk, left)));
  }
  writeSync(fd, tail);
  closeSync(fd);
  return path;
}

const cases = [
  { name: "random bytes", path: file("random.system", "", randomBytes, "") },
  {
    name: "comment, bad byte at the end",
    path: file("late.system", "<system><!--", (n) => Buffer.alloc(n, "a"), "\u0001"),
  },
  {
    name: "tiny unknown elements",
    path: file(
      "elements.system",
      "<system>",
      (n) => Buffer.alloc(n - (n % 4), "<x/>"),
      "</system>",
    ),
  },
];

function best(run: () => void, repeats = 3): number {
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    run();
    ms = Math.min(ms, performance.now() - started);
  }
  return ms;
}

try {
  // Rejections first, each with the peak resident set size it left, then the reads.
  const rejected = cases.map((c) => {
    let error = "";
    const rejectMs = best(() => {
      try {
        loadSystemFile(c.path);
        error = "accepted!";
      } catch (err) {
        if (!(err instanceof SdfError)) throw err;
        error = `${err.code} at ${err.location?.line}:${err.location?.column}`;
      }
    });
    return { rejectMs, error, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  });
  const rate = (ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(0);
  const rows = [["case", "read MB/s", "reject MB/s", "× read", "peak rss MB", "error"]];
  cases.forEach((c, i) => {
    const { rejectMs, error, peakRssMb } = rejected[i]!;
    const readMs = best(() => readFileSync(c.path, "utf8"));
    rows.push([
      c.name,
      rate(readMs),
      rate(rejectMs),
      (readMs / rejectMs).toFixed(2),
      peakRssMb.toFixed(0),
      error,
    ]);
  });
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`${mb} MB files`);
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join("  "));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
