/**
 * A VMM PD that faults and is restarted by its parent (issue 11 item 3; microkit reference §2.8:
 * a child's fault goes to its parent's `fault` entry, `microkit_pd_restart` starts it again at
 * `init`). A scenario's `vm` guest says `fault: { at }` (a libvmm assert trips at the VMM's first
 * guest exit at or after `at` s) and `restart: { delay, maxRestarts }` (the parent PD that holds
 * the VMM PD as a child runs `@vmmux/vmm`'s `RestartingParent`).
 */
import { flattenProtectionDomains, type SystemDescription } from "@vmmux/microkit-pd";
import { RestartingParent, type RestartRecord, type VmmConfig, type VmmProgram } from "@vmmux/vmm";
import { FaultingVmm } from "@vmmux/vmm/testing";
import type { ScenarioGuest } from "../scenario.js";

/** The VMM constructor for guest `g`: one that faults at `g.fault.at` when the scenario asks. */
export function faultingVmm(
  g: ScenarioGuest,
  makeVmm: ((config: VmmConfig) => VmmProgram) | undefined,
): ((config: VmmConfig) => VmmProgram) | undefined {
  if (g.kind !== "vm" || g.fault === undefined) return makeVmm;
  const at = Math.round(g.fault.at * 1e9);
  return (config) => new FaultingVmm(config, at);
}

/** One guest's restarting parent. */
export interface GuestParent {
  readonly guest: string;
  readonly pd: string;
  readonly parent: RestartingParent;
}

/**
 * The parents of the guests' VMM PDs that the scenario asks to restart them, by program image.
 * A guest with `restart` whose VMM PD has no parent PD in the system is an error.
 */
export function restartParents(
  description: SystemDescription,
  guests: readonly ScenarioGuest[],
  file: string,
): { readonly programs: Record<string, RestartingParent>; readonly parents: GuestParent[] } {
  const pds = flattenProtectionDomains(description);
  const programs: Record<string, RestartingParent> = {};
  const parents: GuestParent[] = [];
  for (const g of guests) {
    if (g.kind !== "vm" || g.restart === undefined) continue;
    const holder = pds.find((p) => p.children.some((c) => c.name === g.pd));
    if (holder === undefined) {
      throw new Error(
        `${file}: guest ${g.name} asks for restarts, but PD ${g.pd} has no parent PD`,
      );
    }
    const image = holder.programImage.path;
    const parent =
      programs[image] ??
      new RestartingParent({
        delayNs: Math.round(g.restart.delay * 1e9),
        ...(g.restart.maxRestarts === undefined ? {} : { maxRestarts: g.restart.maxRestarts }),
      });
    programs[image] = parent;
    parents.push({ guest: g.name, pd: holder.name, parent });
  }
  return { programs, parents };
}

/** A parent's restarts in report form: fault and restart times in seconds. */
export function restartSummary(records: readonly RestartRecord[]): string[] {
  return records.map(
    (r) =>
      `child ${r.child} ${r.fault} at ${(r.faultAt / 1e9).toFixed(6)} s: ` +
      (r.restartedAt === undefined
        ? "not restarted"
        : `restarted at ${(r.restartedAt / 1e9).toFixed(6)} s`),
  );
}

/** What a boot of a Linux guest model left: its written and received bytes with their tags. */
interface BootTranscripts {
  readonly written: { readonly bytes: readonly number[]; readonly tags: readonly number[] };
  readonly received: { readonly bytes: readonly number[]; readonly tags: readonly number[] };
}

/**
 * Every boot of one guest (the VMM restarted makes a fresh guest program, `customMachine`).
 * A reboot's output is new output: its provenance sequence numbers continue after the earlier
 * boots' instead of starting again at 0, so the wire's tags stay unique per guest. The guest
 * model keeps its sequence counter private; until it takes a first sequence number as an option
 * this sets the field of the new instance before it writes anything.
 */
export class GuestBoots<G extends BootTranscripts> {
  readonly all: G[] = [];

  constructor(private readonly make: (vcpuId: number) => G) {}

  /** The `GuestEntry` for the kernel: builds the next boot's guest program. */
  readonly entry = (vcpuId: number): G => {
    const guest = this.make(vcpuId);
    const before = this.all.reduce((n, g) => n + g.written.bytes.length, 0);
    if (before > 0) (guest as unknown as { seq: number }).seq = before;
    this.all.push(guest);
    return guest;
  };

  /** The boots' transcripts end to end. */
  joined(pick: (g: G) => BootTranscripts["written"]): { bytes: number[]; tags: number[] } {
    if (this.all.length === 1) {
      const only = pick(this.all[0]!);
      return { bytes: [...only.bytes], tags: [...only.tags] };
    }
    const bytes: number[] = [];
    const tags: number[] = [];
    for (const g of this.all) {
      const t = pick(g);
      for (let i = 0; i < t.bytes.length; i++) {
        bytes.push(t.bytes[i]!);
        tags.push(t.tags[i]!);
      }
    }
    return { bytes, tags };
  }
}

/**
 * A PD fault split into the ones a restarting parent restarted (the scenario's survived faults:
 * the k-th fault delivered to a parent is its k-th record) and the rest, which stay findings.
 */
export function splitRestarted<F extends { readonly handler: string }>(
  faults: readonly F[],
  parents: readonly GuestParent[],
): { readonly unhandled: F[]; readonly restarted: F[] } {
  const records = new Map<string, readonly RestartRecord[]>();
  for (const p of parents) records.set(p.pd, p.parent.restarts);
  const seen = new Map<string, number>();
  const unhandled: F[] = [];
  const restarted: F[] = [];
  for (const f of faults) {
    const k = seen.get(f.handler) ?? 0;
    seen.set(f.handler, k + 1);
    const record = records.get(f.handler)?.[k];
    if (record?.restartedAt !== undefined) restarted.push(f);
    else unhandled.push(f);
  }
  return { unhandled, restarted };
}

/** The run's PD faults, those a parent restarted kept apart when there are any. */
export function faultsOf<F extends { readonly handler: string }>(
  found: readonly F[] | null,
  parents: readonly GuestParent[] | undefined,
): { pdFaults: readonly F[] | null; restartedFaults?: readonly F[] } {
  if (found === null || parents === undefined || parents.length === 0) return { pdFaults: found };
  const { unhandled, restarted } = splitRestarted(found, parents);
  return { pdFaults: unhandled, restartedFaults: restarted };
}

/** The names of `pds` less the restarting parents (they run a program, they are not idle). */
export function withoutParents(
  pds: readonly { readonly pd: string }[],
  parents: readonly GuestParent[] | undefined,
): string[] {
  return pds.map((p) => p.pd).filter((pd) => !(parents ?? []).some((r) => r.pd === pd));
}
