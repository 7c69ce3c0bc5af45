/**
 * `System`: a runnable Microkit system built from a parsed SDF plus a registry of PD programs,
 * guest programs and device models (DESIGN.md "The simulation kernel").
 */
import type { Writable } from "node:stream";
import type { DeviceHost, MappedRegion, MmioDevice, MmioPort } from "../program.js";
import type { MemoryMap, ProtectionDomain, SystemDescription } from "../sdf/types.js";
import { flattenProtectionDomains } from "../sdf/types.js";
import { type CostModel, defaultCostModel, mergeCostModel } from "./cost-model.js";
import { Host } from "./device-host.js";
import { RuntimeError } from "./errors.js";
import type { RuntimeEvent } from "./event-log.js";
import { type DomainSlot, IrqLine, Kernel, type KernelParts, type Thread } from "./kernel.js";
import { CheckedPort, CheckedRegion } from "./memory.js";
import {
  PerfettoStream,
  type PerfettoStreamOptions,
  type PerfettoTrace,
  toPerfetto,
} from "./perfetto.js";
import { Prng } from "./prng.js";
import type { SystemOptions, ThreadInfo } from "./system-options.js";
import {
  type ChannelEndpoint,
  type ChildHandle,
  monitorBody,
  pdBody,
  RuntimePdContext,
  RuntimeVcpuContext,
  type VcpuHandle,
  vcpuBody,
} from "./threads.js";

export type {
  DeviceEntry,
  GuestEntry,
  ProgramEntry,
  SystemOptions,
  ThreadInfo,
} from "./system-options.js";

const US = 1000;

/** How far {@link System.runUntilIdle} runs at most when given no limit: 10 s of virtual time. */
export const DEFAULT_IDLE_LIMIT_NS = 10_000_000_000;

export class System {
  readonly costs: CostModel;
  private readonly kernel: Kernel;
  private readonly prng: Prng;
  private readonly buffers = new Map<string, Uint8Array>();
  private readonly devices = new Map<string, MmioDevice>();
  private readonly pdThreads = new Map<string, Thread>();
  private readonly hosts = new Map<string, Host>();
  private booted = false;

  constructor(
    readonly description: SystemDescription,
    private readonly options: SystemOptions,
    /** Substitute kernel parts (see {@link KernelParts}); default the runtime's own. */
    parts: KernelParts = {},
  ) {
    this.costs = mergeCostModel(defaultCostModel, options.costModel);
    this.prng = new Prng(options.seed ?? 1);
    this.kernel = new Kernel(
      {
        costs: this.costs,
        minBudget: Math.round((options.minBudgetUs ?? 0) * US),
        recordEvents: options.recordEvents ?? true,
        recordPoints: options.recordPoints ?? false,
        recordStates: options.recordStates ?? true,
        recordCycles: options.recordCycles ?? true,
        fastForward: options.fastForward ?? true,
        inlineSteps: options.inlineSteps ?? true,
        inertTicks: options.inertTicks ?? true,
        resumeLeaps: options.resumeLeaps ?? true,
        retainEvents: options.retainEvents ?? true,
      },
      parts,
    );
    if (options.onEvent) this.kernel.listeners.push(options.onEvent);
    this.build();
  }

  private build(): void {
    const k = this.kernel;
    const desc = this.description;
    const shared = this.options.sharedMemory ?? false;
    for (const mr of desc.memoryRegions) {
      const size = Number(mr.size);
      const backing = this.options.regionBacking?.[mr.name];
      if (backing !== undefined && backing.byteLength !== size) {
        throw new RuntimeError(
          "RT_BAD_CONFIG",
          `memory region '${mr.name}': backing of ${backing.byteLength} bytes for a region of ${size}`,
        );
      }
      this.buffers.set(
        mr.name,
        backing ?? new Uint8Array(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size)),
      );
    }
    for (const [mrName, entry] of Object.entries(this.options.devices ?? {})) {
      const mr = desc.memoryRegions.find((region) => region.name === mrName);
      if (!mr || mr.physAddr === undefined) {
        throw new RuntimeError(
          "RT_BAD_DEVICE",
          `device '${mrName}': ${mr ? "memory region has no phys_addr" : "no memory region of that name"}`,
        );
      }
      const host = new Host(k, mrName);
      this.hosts.set(mrName, host);
      this.devices.set(mrName, typeof entry === "function" ? entry(host) : entry);
    }

    const monitor = k.addThread("monitor", "monitor", 255, 1000 * US, 1000 * US);
    monitor.body = monitorBody(k, monitor);

    const domainIds = new Map((desc.domainSchedule?.domains ?? []).map((d) => [d.name, d.id]));
    const pds = flattenProtectionDomains(desc);
    for (const pd of pds) {
      const thread = k.addThread(pd.name, "pd", pd.priority, pd.budget * US, pd.period * US);
      thread.sched.domain = pd.domain === undefined ? 0 : (domainIds.get(pd.domain) ?? 0);
      this.pdThreads.set(pd.name, thread);
    }
    pds.forEach((pd, index) => {
      const thread = this.pdThreads.get(pd.name)!;
      if (pd.parent !== undefined) {
        thread.fault.handler = this.pdThreads.get(pd.parent) ?? monitor;
        thread.fault.id = pd.id ?? 0;
      } else {
        thread.fault.handler = monitor;
        thread.fault.id = index + 1;
      }
    });

    const channels = new Map<string, Map<number, ChannelEndpoint>>();
    for (const pd of pds) channels.set(pd.name, new Map());
    for (const channel of desc.channels) {
      const [a, b] = channel.ends;
      for (const [self, peer] of [
        [a, b],
        [b, a],
      ] as const) {
        const selfThread = this.pdThreads.get(self.pd);
        const peerThread = this.pdThreads.get(peer.pd);
        if (!selfThread || !peerThread) continue;
        if (self.pp && peerThread.priority <= selfThread.priority) {
          throw new RuntimeError(
            "RT_PPC_PRIORITY",
            `PPCs must be to protection domains of strictly higher priorities; channel with PPC exists from pd ${self.pd} (priority: ${selfThread.priority}) to pd ${peer.pd} (priority: ${peerThread.priority})`,
          );
        }
        channels
          .get(self.pd)!
          .set(self.id, { peer: peerThread, peerCh: peer.id, notify: self.notify, pp: self.pp });
      }
    }

    for (const pd of pds) this.buildPd(pd, channels.get(pd.name)!, monitor);

    const bootOrder = this.options.bootOrder ?? "capdl";
    const all = [monitor, ...pds.map((pd) => this.pdThreads.get(pd.name)!)];
    const resume =
      bootOrder === "capdl"
        ? [...all].sort((x, y) => compareBytes(`tcb_${x.name}`, `tcb_${y.name}`))
        : [...all].reverse();
    this.bootThreads = resume;
    const schedule = desc.domainSchedule;
    if (schedule) {
      const tick = this.options.domainTickNs ?? 1000;
      const slots: DomainSlot[] = [];
      for (const entry of schedule.schedule) {
        if (entry.kind === "end-marker") break;
        const domain = domainIds.get(entry.domain) ?? 0;
        slots.push({ domain, duration: entry.duration * (entry.unit === "us" ? US : tick) });
      }
      this.domainSlots = slots;
      this.domainStart = schedule.startIndex;
    }
  }

  private bootThreads: Thread[] = [];
  private readonly children = new Map<string, Map<number, ChildHandle>>();
  private domainSlots: DomainSlot[] = [];
  private domainStart = 0;

  private buildPd(
    pd: ProtectionDomain,
    channels: Map<number, ChannelEndpoint>,
    monitor: Thread,
  ): void {
    const k = this.kernel;
    const thread = this.pdThreads.get(pd.name)!;
    const irqs = new Map<number, IrqLine>();
    for (const irq of pd.irqs) {
      const number = irq.kind === "arm" ? irq.irq : irq.vector;
      const line = new IrqLine(number, thread, irq.id, irq.kind === "msi" ? "edge" : irq.trigger);
      k.irqs.add(line);
      irqs.set(irq.id, line);
    }
    const regions = new Map<string, MappedRegion>();
    const ports = new Map<string, MmioPort>();
    for (const map of pd.maps) this.mapInto(map, regions, ports);

    const vcpus = new Map<number, VcpuHandle>();
    const vm = pd.virtualMachine;
    if (vm) {
      const ram = new Map<string, MappedRegion>();
      for (const map of vm.maps) this.mapInto(map, ram, new Map());
      for (const vcpu of vm.vcpus) {
        const vt = k.addThread(
          `${vm.name}:vcpu${vcpu.id}`,
          "vcpu",
          vcpu.priority & 0xff,
          vcpu.budget * US,
          vcpu.period * US,
        );
        vt.fault.handler = thread;
        vt.fault.id = vcpu.id;
        if (this.options.vcpuDomain === "vmm") vt.sched.domain = thread.sched.domain;
        const entry = this.options.guests?.[vm.name];
        const trapWfi = this.options.trapWfi ?? true;
        vcpus.set(vcpu.id, {
          thread: vt,
          restart: () => {
            if (entry === undefined) {
              k.record({
                t: k.now,
                type: "error",
                thread: vt.name,
                code: "RT_MISSING_PROGRAM",
                message: `no guest program for virtual machine '${vm.name}'`,
              });
              return;
            }
            const guest = typeof entry === "function" ? entry(vcpu.id) : entry;
            const ctx = new RuntimeVcpuContext(vm.name, vcpu.id, k, vt, this.prng, ram);
            k.faults.restart(vt, vcpuBody(k, vt, guest, ctx, trapWfi));
          },
        });
      }
    }

    const entry = this.options.programs[pd.programImage.path];
    if (entry === undefined) {
      throw new RuntimeError(
        "RT_MISSING_PROGRAM",
        `protection domain '${pd.name}': no program registered for program_image '${pd.programImage.path}'`,
      );
    }
    const wiring = {
      kernel: k,
      thread,
      monitor,
      prng: this.prng,
      channels,
      irqs,
      regions,
      ports,
      vcpus,
      children: this.childrenOf(pd.name),
      passive: pd.passive,
    };
    // A fresh program instance (a factory is called again) and context per start (§2.8).
    const start = () => {
      const program = typeof entry === "function" ? entry(pd.name) : entry;
      return pdBody(k, thread, new RuntimePdContext(wiring), program, wiring);
    };
    thread.body = start();
    if (pd.parent !== undefined && pd.id !== undefined) {
      const parent = this.childrenOf(pd.parent);
      parent.set(pd.id, { thread, restart: () => k.faults.restart(thread, start()) });
    }
  }

  /** Child handles of PD `parent` by child id, shared with its context (filled as PDs are built). */
  private childrenOf(parent: string): Map<number, ChildHandle> {
    let children = this.children.get(parent);
    if (children === undefined) {
      children = new Map();
      this.children.set(parent, children);
    }
    return children;
  }

  private mapInto(
    map: MemoryMap,
    regions: Map<string, MappedRegion>,
    ports: Map<string, MmioPort>,
  ): void {
    const mr = this.description.memoryRegions.find((region) => region.name === map.mr);
    const buffer = this.buffers.get(map.mr);
    if (!mr || !buffer || regions.has(map.mr) || ports.has(map.mr)) return;
    const device = this.devices.get(map.mr);
    if (device) {
      ports.set(map.mr, new CheckedPort(map.mr, Number(mr.size), map.perms, device));
      return;
    }
    regions.set(
      map.mr,
      new CheckedRegion(
        map.mr,
        Number(map.vaddr),
        Number(mr.size),
        map.perms,
        buffer.buffer,
        buffer.byteOffset,
      ),
    );
  }

  /** Start the system at time 0 (reference §2.1). Called by the first run method if needed. */
  boot(): void {
    if (this.booted) return;
    this.booted = true;
    this.kernel.boot(this.bootThreads, this.domainSlots, this.domainStart);
  }

  /** Current virtual time in ns. */
  now(): number {
    return this.kernel.now;
  }

  /** Run until virtual time `time` (ns); events at exactly `time` are processed. */
  runUntil(time: number): void {
    this.boot();
    while (this.kernel.step(time)) {}
    this.kernel.advanceTo(time);
  }

  /** Run for `ns` more virtual nanoseconds. */
  runFor(ns: number): void {
    this.runUntil(this.kernel.now + ns);
  }

  /** Process at most `count` events; returns how many were processed. */
  runEvents(count: number): number {
    this.boot();
    const start = this.kernel.eventsProcessed;
    for (;;) {
      const left = count - (this.kernel.eventsProcessed - start);
      if (left <= 0 || !this.kernel.step(Number.POSITIVE_INFINITY, left - 1)) break;
    }
    return this.kernel.eventsProcessed - start;
  }

  /**
   * Run until nothing can happen any more (no runnable thread, no pending event) or until virtual
   * time `limit` ns; returns true if the system went idle, false if it was still busy at `limit`.
   * Without `limit` it stops {@link DEFAULT_IDLE_LIMIT_NS} (10 s of virtual time) from now, so a
   * system that never goes idle (a busy PD, an idle guest looping on trapped WFI) returns instead
   * of running forever; pass `Infinity` to lift the bound.
   */
  runUntilIdle(limit = this.kernel.now + DEFAULT_IDLE_LIMIT_NS): boolean {
    this.boot();
    while (!this.kernel.isIdle()) {
      if (!this.kernel.step(limit)) {
        if (Number.isFinite(limit)) this.kernel.advanceTo(limit);
        return this.kernel.isIdle();
      }
    }
    return true;
  }

  /** Number of heap events processed so far. */
  get eventsProcessed(): number {
    return this.kernel.eventsProcessed;
  }

  /** The event log so far. */
  get log(): readonly RuntimeEvent[] {
    return this.kernel.log;
  }

  /** Every thread (monitor, PDs, vCPUs) with its state. */
  threads(): ThreadInfo[] {
    return this.kernel.threads.map((t) => this.info(t));
  }

  /** One thread by name (`monitor`, a PD name, or `<vm>:vcpu<id>`). */
  thread(name: string): ThreadInfo {
    const t = this.kernel.threads.find((candidate) => candidate.name === name);
    if (!t) throw new RuntimeError("RT_BAD_CONFIG", `no thread named '${name}'`);
    return this.info(t);
  }

  private info(t: Thread): ThreadInfo {
    return {
      name: t.name,
      kind: t.kind,
      priority: t.priority,
      state: t === this.kernel.current ? "running" : t.state,
      throttled: t.sched.inRelease,
      passive: t.sched.passive,
      runTime: t.runTime,
      entry: t.entry,
      budget: t.sched.ownSc.budget,
      period: t.sched.ownSc.period,
      domain: t.sched.domain,
    };
  }

  /** The backing bytes of a memory region, for inspection (no permission checks). */
  memory(name: string): Uint8Array {
    const bytes = this.buffers.get(name);
    if (!bytes) throw new RuntimeError("RT_BAD_CONFIG", `no memory region named '${name}'`);
    return bytes;
  }

  /** The device model attached to a memory region. */
  device(name: string): MmioDevice {
    const device = this.devices.get(name);
    if (!device) throw new RuntimeError("RT_BAD_CONFIG", `no device attached to '${name}'`);
    return device;
  }

  /** The host interface of a device (clock, timers, IRQ lines), e.g. to inject input from a test. */
  deviceHost(name: string): DeviceHost {
    const host = this.hosts.get(name);
    if (!host) throw new RuntimeError("RT_BAD_CONFIG", `no device attached to '${name}'`);
    return host;
  }

  /** Run `action` as a kernel entry at virtual time `time` (test and scenario injection). */
  at(time: number, action: () => void): void {
    this.kernel.at(time, action);
  }

  /** Drive an IRQ line from outside any device model. */
  setIrqLevel(irq: number, asserted: boolean): void {
    this.kernel.irqs.setLevel(irq, asserted);
  }

  /** Publish a counter sample from outside a PD (e.g. a testbench oracle). */
  counter(name: string, value: number): void {
    this.kernel.record({ t: this.kernel.now, type: "counter", name, value });
  }

  /** The log as Chrome Trace Event / Perfetto JSON (one track per PD and vCPU). */
  /**
   * Call `listener` with each event from now on as the kernel records it (whether or not the log
   * keeps it, `retainEvents`); returns a function that unsubscribes it.
   */
  onEvent(listener: (event: RuntimeEvent) => void): () => void {
    const listeners = this.kernel.listeners;
    listeners.push(listener);
    return () => {
      const i = listeners.indexOf(listener);
      if (i >= 0) listeners.splice(i, 1);
    };
  }

  /**
   * Write the run's Perfetto trace to `out` as it goes (subscribe before the first run call to
   * see every event); `await stream.close(sys.now())` ends it. Same trace as {@link toPerfetto}.
   */
  streamPerfetto(out: Writable, options: PerfettoStreamOptions = {}): PerfettoStream {
    const stream = new PerfettoStream(out, this.traceThreads(), options);
    this.onEvent((event) => stream.add(event));
    return stream;
  }

  private traceThreads() {
    return this.kernel.threads.map((t) => ({ name: t.name, kind: t.kind, priority: t.priority }));
  }

  toPerfetto(): PerfettoTrace {
    return toPerfetto(
      this.kernel.log,
      this.kernel.threads.map((t) => ({ name: t.name, kind: t.kind, priority: t.priority })),
      this.kernel.now,
    );
  }
}

function compareBytes(a: string, b: string): number {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return Buffer.compare(x, y);
}
