/**
 * The system-level hostile campaign (issue 11 item 4, DESIGN.md oracle 6): `@vmmux/vmm`'s
 * hostile guest on one VMM of the full dual-VMM system beside an honest guest on the other,
 * through both virtualisers and the UART. Each run is one scenario seed (the hostile script
 * is drawn from it, `hostileScript`, or given), and reports the honest guest's bytes and every
 * PD's end state; it fails on an exception out of the run, a PD fault, a PD that is not alive
 * at the end, a lost wake-up, or any isolation finding.
 *
 * The honest guest's bytes must reach the wire in order; those not on it yet must be queued
 * for it in order. A client's whole published unit moves into the driver's TX queue at once
 * (sddf-serial §5.3) and that queue is FIFO with one producer (§5.5), twice a client queue in
 * size (§11): a hostile guest that publishes 64 KiB ahead of the honest guest's line holds it
 * back for ~5.7 s of wire at 115200 baud, and a full driver queue for ~11.4 s. A run window
 * that long costs ~300 runs' time, so the oracle states where the bytes wait instead, and
 * that the wire is busy draining what is ahead of them.
 */
import { tagOrigin } from "@vmmux/sddf-queues";
import fc from "fast-check";
import { hostileScript } from "../guests.js";
import { wireOf } from "../metrics.js";
import { integrity } from "../oracles/wire.js";
import { isolation, wakeups } from "../oracles.js";
import { type RunResult, type RunVariants, runScenario } from "../run.js";
import { wireView } from "../stream/streamed.js";
import { syntheticScenario } from "../testing/synthetic.js";
import { violationKind } from "./corpus.js";
import { withHostileScript } from "./system-guest.js";

/** The honest guest's output: short lines while the hostile guest runs its script. */
const HONEST_LINES = Array.from(
  { length: 8 },
  (_, i) => [0.01 + i * 0.002, `guest1 line ${i}\r\n`] as const,
);
/** Virtual seconds per run: the honest output needs ~10 ms of wire after its last line. */
const DURATION = 0.04;
/** Client index of the hostile guest (guest2) in the bundled two-VM system. */
const HOSTILE_INDEX = 1;
/** Longest quiet wire while the driver queue holds bytes: about 12 character times (8N1, 115200). */
const WIRE_QUIET_NS = 1_000_000;

/** A hostile script as the corpus keeps it: Linux's probe or not, then the ops. */
export type SystemScript = ReturnType<typeof hostileScript>;

export interface SystemRunReport {
  readonly seed: number;
  /** Hostile operations completed (of the script's). */
  readonly ops: number;
  readonly total: number;
  /**
   * The honest guest's bytes: handed to its console, reached the wire, still queued for it
   * (behind what the hostile guest queued first), whether the wire's were in order.
   */
  readonly other: {
    readonly sent: number;
    readonly delivered: number;
    readonly queued: number;
    readonly inOrder: boolean;
  };
  /** Every PD's state at the end. */
  readonly pds: Record<string, string>;
  readonly violations: string[];
}

/**
 * One full-system run with the hostile script of scenario seed `seed`, or with `script`
 * (the scenario seed then only seeds the system); `variants` replace parts (`RunVariants`).
 */
export function runSystemCase(
  seed: number,
  profile: "hardened" | "reference" = "hardened",
  script?: SystemScript,
  variants?: RunVariants,
): SystemRunReport {
  const scenario = syntheticScenario({
    kind: "vm",
    guests: [{ output: HONEST_LINES }, { output: [], hostile: true }],
    knobs: { durationLimit: DURATION, seed, profile },
  });
  const total = (script ?? hostileScript(seed, HOSTILE_INDEX)).ops.length;
  let run: RunResult;
  try {
    run = runScenario(scenario, {
      recordEvents: true,
      retainLog: false,
      ...(variants === undefined ? {} : { variants }),
      ...(script === undefined
        ? {}
        : { guest: withHostileScript(scenario, HOSTILE_INDEX, script, variants?.vmm) }),
    });
  } catch (error) {
    return {
      seed,
      ops: 0,
      total,
      other: { sent: 0, delivered: 0, queued: 0, inOrder: false },
      pds: {},
      violations: [`the run threw: ${String(error)}`],
    };
  }
  const violations: string[] = [];
  const other = honestBytes(run, violations);
  const pds: Record<string, string> = {};
  for (const t of run.threads) if (t.kind === "pd") pds[t.name] = t.state;
  for (const f of run.pdFaults ?? []) violations.push(`PD ${f.thread} faulted: ${f.what}`);
  // isolation() judges the other guests' integrity with the hostile guest left out, so its
  // bytes (tagged with its origin by its VMM) would be no guest's: judge integrity over all
  // guests here, where a hostile guest's bytes are counted and not judged. (Its own findings
  // come before those, so the truncation line only ever counts those.)
  for (const f of isolation(run).findings)
    if (!f.startsWith("another guest disturbed: ") && !f.startsWith("... and ")) violations.push(f);
  for (const f of integrity(run).findings) violations.push(`another guest disturbed: ${f}`);
  for (const f of wakeups(run).findings) violations.push(f);
  const ops = run.guests[HOSTILE_INDEX]?.vmm?.hostileOps?.completed ?? 0;
  return { seed, ops, total, other, pds, violations: [...new Set(violations)] };
}

/**
 * The honest guest's bytes: on the wire in order; the rest, in order, in the UART (its TX FIFO
 * and shift register), the driver TX queue and its own client TX queue, with the wire busy
 * while the driver queue holds bytes and virt_tx waiting for space while its queue does.
 */
function honestBytes(run: RunResult, violations: string[]): SystemRunReport["other"] {
  const honest = run.guests[0]!;
  const sent = honest.enqueuedTags;
  const wire = wireOf(run, honest.origin).map((w) => w.tag);
  const inOrder = wire.length <= sent.length && wire.every((tag, i) => tag === sent[i]);
  if (!inOrder) {
    violations.push(`${honest.name}: its bytes reached the wire out of order`);
    return { sent: sent.length, delivered: wire.length, queued: 0, inOrder };
  }
  const rest = sent.subarray(wire.length);
  if (rest.length === 0) return { sent: sent.length, delivered: wire.length, queued: 0, inOrder };
  const none = new Uint32Array(0);
  const q = run.txQueued?.() ?? { uart: none, driver: none, clients: [] };
  const mine = (tags: Uint32Array) => [...tags].filter((t) => tagOrigin(t) === honest.origin);
  const onWire = new Set(wire);
  const queued = [...mine(q.driver), ...(q.clients[0] ?? [])];
  // The UART's bytes are read from the driver queue's slots before its head: intact unless
  // the queue has filled since, which overwrites them (then allow up to its size unseen).
  const intact = q.driver.length + q.uart.length <= run.driverTxCapacity;
  const inUart = intact ? mine(q.uart).filter((t) => !onWire.has(t)) : [];
  const unseen = intact ? 0 : q.uart.length;
  const fifo = rest.length - queued.length;
  const accounted =
    fifo >= inUart.length &&
    fifo <= inUart.length + unseen &&
    inUart.every((t, i) => rest[i] === t) &&
    queued.every((t, i) => rest[fifo + i] === t);
  if (!accounted)
    violations.push(
      `${honest.name}: ${rest.length} of ${sent.length} bytes not on the wire by the end of the run, and not queued for it in order (${queued.length} queued)`,
    );
  const all = wireView(run);
  const last = all.length === 0 ? 0 : all.end(all.length - 1);
  if (q.driver.length > 0 && run.virtualTime - last > WIRE_QUIET_NS)
    violations.push(
      `the driver TX queue holds ${q.driver.length} bytes but the wire has been quiet since ${(last / 1e9).toFixed(6)} s`,
    );
  if ((q.clients[0]?.length ?? 0) > 0 && !run.waits.some((w) => w.producer.endsWith(honest.name)))
    violations.push(
      `${honest.name}: ${q.clients[0]!.length} bytes wait in its client TX queue and virt_tx is not waiting to move them`,
    );
  return { sent: sent.length, delivered: wire.length, queued: fifo + queued.length, inOrder };
}

export interface SystemCampaignResult {
  readonly seed: number;
  readonly scripts: number;
  readonly ops: number;
  readonly runs: SystemRunReport[];
  /** The first failing run (its seed replays it). */
  readonly counterexample?: SystemRunReport;
}

/**
 * `runs` full-system runs whose scenario seeds fast-check draws from `seed` (`examples`
 * first). A failing run is shrunk afterwards as a script (`shrinkSystemCase`).
 */
export function runSystemCampaign(options: {
  readonly seed: number;
  readonly runs: number;
  readonly examples?: readonly number[];
  /** Parts replaced by deliberately wrong ones (`pnpm fuzz --broken`). */
  readonly variants?: RunVariants;
}): SystemCampaignResult {
  const runs: SystemRunReport[] = [];
  let counterexample: SystemRunReport | undefined;
  fc.check(
    // Unbiased: fast-check's bias towards small and extreme integers would rerun the same
    // few scenario seeds in every batch.
    fc.property(fc.noBias(fc.integer({ min: 0, max: 2 ** 31 - 1 })), (s) => {
      const report = runSystemCase(s, "hardened", undefined, options.variants);
      runs.push(report);
      if (report.violations.length > 0) counterexample ??= report;
      return report.violations.length === 0;
    }),
    {
      seed: options.seed,
      numRuns: options.runs + (options.examples?.length ?? 0),
      examples: (options.examples ?? []).map((s) => [s]),
      endOnFailure: true,
    },
  );
  return {
    seed: options.seed,
    scripts: runs.length,
    ops: runs.reduce((n, r) => n + r.ops, 0),
    runs,
    ...(counterexample === undefined ? {} : { counterexample }),
  };
}

/**
 * Shrink a failing run's hostile script (its seed's, or `script`): drop runs of ops, halving
 * their length, while the run still fails with the same kind of violations (numbers aside),
 * then try without the probe; at most `budget` runs. The scenario seed stays.
 */
export function shrinkSystemCase(
  failing: SystemRunReport,
  profile: "hardened" | "reference" = "hardened",
  script: SystemScript = hostileScript(failing.seed, HOSTILE_INDEX),
  options: { readonly budget?: number; readonly variants?: RunVariants } = {},
): { readonly script: SystemScript; readonly report: SystemRunReport; readonly runs: number } {
  const kind = violationKind(failing.violations);
  const budget = options.budget ?? 150;
  let best = { script, report: failing };
  let runs = 0;
  const keep = (candidate: SystemScript): boolean => {
    runs++;
    const report = runSystemCase(failing.seed, profile, candidate, options.variants);
    if (report.violations.length === 0 || violationKind(report.violations) !== kind) return false;
    best = { script: candidate, report };
    return true;
  };
  for (let chunk = Math.ceil(script.ops.length / 2); chunk >= 1; chunk = Math.floor(chunk / 2)) {
    for (let i = 0; i < best.script.ops.length && runs < budget; ) {
      const ops = best.script.ops;
      if (!keep({ probe: best.script.probe, ops: [...ops.slice(0, i), ...ops.slice(i + chunk)] }))
        i += chunk;
    }
    if (chunk === 1) break;
  }
  if (best.script.probe && runs < budget) keep({ probe: false, ops: best.script.ops });
  return { ...best, runs };
}
