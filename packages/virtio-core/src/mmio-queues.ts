/**
 * The queue registers of virtio-mmio v2 (VirtIO 1.2 §4.2.2, §4.2.3.2, §4.2.3.3): QueueSel,
 * QueueNumMax, QueueNum, the address halves, QueueReady, QueueReset and QueueNotify. Each
 * libvmm defect here (reference virtio §4.2, §4.5, §4.11) is a switch chosen once:
 * `queueNumMaxForAbsentQueues`, `queueNumUnchecked` (L3), `addressRegistersOred`,
 * `queueReadyOutOfBounds` (L1), `queueReadyCannotClear`, the QueueReady check that L2/L3 turn
 * off, `notifyWithoutDriverOk` and `injectFailureBlocks` (L12).
 */
import { chooseBehaviour } from "@vmmux/profiles";
import { Feature, hasFeature, Status } from "./constants.js";
import type { VirtioDevice, VirtioDeviceHost } from "./device.js";
import {
  blocked,
  emptyQueue,
  type MmioReply,
  OK,
  type QueueRegs,
  type TransportCore,
} from "./mmio-core.js";
import type { DefectFinding, DefectSwitches } from "./profile.js";
import {
  type QueueGeometry,
  SplitVirtqueue,
  type SplitVirtqueueOptions,
  validateGeometry,
} from "./virtqueue.js";

/** What the queue registers need from the transport besides reporting. */
export interface QueueHost extends VirtioDeviceHost {
  readonly device: VirtioDevice;
  readonly crashed: DefectFinding | undefined;
}

type AddressField = "desc" | "avail" | "used";

/** Switch `queueNumMaxForAbsentQueues`: QueueNumMax when QueueSel names no queue. */
type AbsentNumMax = (f: QueueRegisterFile) => number;
const zeroForAbsent: AbsentNumMax = () => 0;
/** L15: libvmm answers 128 (its one QueueNumMax) for every QueueSel. */
const maxForAbsent: AbsentNumMax = (f) => {
  const value = Math.max(0, ...f.device.queueMaxSizes);
  f.core.found(
    "queueNumMaxForAbsentQueues",
    "deviation",
    `QueueNumMax reads ${value} for absent queue ${f.sel}`,
  );
  return value;
};

/** Switch `queueNumUnchecked`: a QueueNum write; a reply stops it. */
type NumWrite = (f: QueueRegisterFile, q: QueueRegs, value: number) => MmioReply | undefined;
/** §4.2.2.2: QueueNum is left alone while the queue is ready; it is validated at QueueReady. */
const numWhileStopped: NumWrite = (f, q, value) => {
  if (q.ready) return f.liveQueue("num");
  q.num = value;
  return undefined;
};
/** L3: any value is taken, even while the queue runs. */
const numAnyTime: NumWrite = (f, q, value) => {
  q.num = value;
  const max = f.device.queueMaxSizes[f.sel] ?? 0;
  if (value === 0 || value > max || (value & (value - 1)) !== 0) {
    f.core.found(
      "queueNumUnchecked",
      "deviation",
      `QueueNum ${value} accepted for queue ${f.sel} (max ${max})`,
    );
  }
  return undefined;
};

/** Switch `addressRegistersOred`: a write of one half of a queue address. */
type AddressWrite = (
  f: QueueRegisterFile,
  q: QueueRegs,
  field: AddressField,
  value: number,
  high: boolean,
) => MmioReply | undefined;
/** §4.2.2.2: each half is assigned, and only while the queue is stopped. */
const assignAddress: AddressWrite = (f, q, field, value, high) => {
  if (q.ready) return f.liveQueue(field);
  const low = q[field] % 0x1_0000_0000;
  const hi = Math.floor(q[field] / 0x1_0000_0000);
  q[field] = high ? value * 0x1_0000_0000 + low : hi * 0x1_0000_0000 + value;
  return undefined;
};
/** L15: libvmm ORs the halves in, even while ready, so a second write mixes old and new bits. */
const orAddressIn: AddressWrite = (f, q, field, value, high) => {
  const before = q[field];
  q[field] = orAddress(before, high ? value * 0x1_0000_0000 : value);
  if (before !== 0 && q[field] !== before) {
    f.core.found(
      "addressRegistersOred",
      "deviation",
      `queue ${f.sel} ${field} address OR-ed to 0x${q[field].toString(16)}`,
    );
  }
  return undefined;
};

/** Switch `queueReadyOutOfBounds`: QueueReady with QueueSel naming no queue. */
type AbsentReady = (f: QueueRegisterFile, value: number) => MmioReply;
const refuseAbsentReady: AbsentReady = (f) => f.absentQueue("write of QueueReady");
/** L1: `vqs[QueueSel].ready = true` with no bounds check. */
const writePastQueues: AbsentReady = (f, value) => {
  if (value !== 1) return OK;
  const finding = f.core.found(
    "queueReadyOutOfBounds",
    "vmm-memory-corruption",
    `QueueReady write with QueueSel ${f.sel} writes past the queue array`,
  );
  return { value: 0, resume: true, finding };
};

/** Switch `queueReadyCannotClear`: a reply ends the write; `undefined` goes on to enable. */
type ReadyValue = (f: QueueRegisterFile, q: QueueRegs, value: number) => MmioReply | undefined;
/** §4.2.2: QueueReady ← 0 stops the queue. */
const zeroStops: ReadyValue = (_f, q, value) => {
  if (value !== 0) return undefined;
  q.ready = false;
  q.queue = undefined;
  return OK;
};
/** L15: only the value 1 has an effect, and the queue cannot be stopped. */
const onlyOneCounts: ReadyValue = (f, q, value) => {
  if (value === 1) return undefined;
  if (q.ready && value === 0) {
    f.core.found("queueReadyCannotClear", "deviation", `QueueReady 0 ignored for queue ${f.sel}`);
  }
  return OK;
};

/**
 * The check at QueueReady ← 1; a reply refuses the enable. libvmm checks nothing, which
 * `queueNumUnchecked` (L3) or `uncheckedGuestAddresses` (L2) each reproduce.
 */
type EnableCheck = (
  f: QueueRegisterFile,
  geometry: QueueGeometry,
  max: number,
) => MmioReply | undefined;
/** §4.2.3.2, §6.3: after FEATURES_OK, with a valid geometry, or DEVICE_NEEDS_RESET. */
const validatedEnable: EnableCheck = (f, geometry, max) => {
  if ((f.host.status & Status.FEATURES_OK) === 0) {
    return f.core.illegal("mmio-status-order", `QueueReady for queue ${f.sel} before FEATURES_OK`);
  }
  const problem = validateGeometry(f.host.memory, geometry, max);
  if (problem === undefined) return undefined;
  // §6.3: an invalid queue is never used; the device needs a reset.
  f.host.needsReset(problem);
  return { value: 0, resume: true };
};
const uncheckedEnable: EnableCheck = (f, geometry, max) => {
  const problem = validateGeometry(f.host.memory, geometry, max);
  if (problem !== undefined) {
    f.core.found(
      problem.code === "queue-size-invalid" || problem.code === "queue-size-above-max"
        ? "queueNumUnchecked"
        : "uncheckedGuestAddresses",
      "deviation",
      `queue ${f.sel} enabled unchecked: ${problem.message}`,
    );
  }
  return undefined;
};

/** Switch `notifyWithoutDriverOk`: the index handed to the device, or the refusal. */
type NotifyAdmission = (f: QueueRegisterFile, value: number) => number | MmioReply;
/** §2.1.2, §4.2.3.3: only a live device, only an existing ready queue. */
const liveQueuesOnly: NotifyAdmission = (f, value) => {
  const index = value & 0xffff;
  if (!f.host.isLive()) {
    return f.core.illegal(
      "mmio-notify-not-live",
      `QueueNotify ${index} in status 0x${f.host.status.toString(16)}`,
    );
  }
  // Without VIRTIO_F_NOTIFICATION_DATA the value is the bare queue index (§4.2.3.3).
  const data = hasFeature(f.host.negotiatedFeatures, Feature.NOTIFICATION_DATA);
  if (!f.queues[index]?.ready || (!data && value > 0xffff)) {
    return f.core.illegal(
      "mmio-notify-bad-queue",
      `QueueNotify of unready or absent queue ${value}`,
    );
  }
  return index;
};
/** L15 (reference §4.5): libvmm processes the queues whatever the status. */
const anyStatus: NotifyAdmission = (f, value) => {
  if ((f.host.status & Status.DRIVER_OK) === 0) {
    f.core.found(
      "notifyWithoutDriverOk",
      "deviation",
      `QueueNotify ${value} processed before DRIVER_OK`,
    );
  }
  return value;
};

/** Switch `injectFailureBlocks`: the reply when the device's interrupt injection failed. */
type InjectFailure = (f: QueueRegisterFile, value: number) => MmioReply;
/** §4.2.3.4: InterruptStatus keeps the cause; the access completes. */
const injectionIrrelevant: InjectFailure = () => OK;
/** L12: `queue_notify` returns false, so the QueueNotify access FAILs. */
const injectionBlocks: InjectFailure = (f, value) =>
  blocked(
    f.core.found(
      "injectFailureBlocks",
      "vcpu-blocked",
      `virtual irq injection failed during QueueNotify ${value}`,
    ),
  );

export class QueueRegisterFile {
  sel = 0;
  readonly queues: QueueRegs[];
  private readonly absentNumMax: AbsentNumMax;
  private readonly numWrite: NumWrite;
  private readonly addressWrite: AddressWrite;
  private readonly absentReady: AbsentReady;
  private readonly readyValue: ReadyValue;
  private readonly enableCheck: EnableCheck;
  private readonly admitNotify: NotifyAdmission;
  private readonly injectFailure: InjectFailure;
  /** What every queue reports to: findings, breakage (DEVICE_NEEDS_RESET), L2 crashes. */
  private readonly queueCallbacks: Pick<
    SplitVirtqueueOptions,
    "onFinding" | "onBroken" | "onCrash"
  >;

  constructor(
    readonly core: TransportCore,
    readonly host: QueueHost,
    private readonly defects: DefectSwitches,
  ) {
    const d = defects;
    this.queues = host.device.queueMaxSizes.map(() => emptyQueue());
    this.queueCallbacks = {
      onFinding: (f) => host.report(f),
      onBroken: (e) => host.needsReset(e),
      onCrash: (f) => host.crash(f),
    };
    this.absentNumMax = chooseBehaviour(d.queueNumMaxForAbsentQueues, maxForAbsent, zeroForAbsent);
    this.numWrite = chooseBehaviour(d.queueNumUnchecked, numAnyTime, numWhileStopped);
    this.addressWrite = chooseBehaviour(d.addressRegistersOred, orAddressIn, assignAddress);
    this.absentReady = chooseBehaviour(d.queueReadyOutOfBounds, writePastQueues, refuseAbsentReady);
    this.readyValue = chooseBehaviour(d.queueReadyCannotClear, onlyOneCounts, zeroStops);
    this.enableCheck = chooseBehaviour(
      d.queueNumUnchecked || d.uncheckedGuestAddresses,
      uncheckedEnable,
      validatedEnable,
    );
    this.admitNotify = chooseBehaviour(d.notifyWithoutDriverOk, anyStatus, liveQueuesOnly);
    this.injectFailure = chooseBehaviour(
      d.injectFailureBlocks,
      injectionBlocks,
      injectionIrrelevant,
    );
  }

  get device(): VirtioDevice {
    return this.host.device;
  }

  /** Device reset: every queue back to its reset values, QueueSel 0 (§2.4.1). */
  reset(): void {
    this.sel = 0;
    for (let i = 0; i < this.queues.length; i++) this.queues[i] = emptyQueue();
  }

  absentQueue(what: string): MmioReply {
    return this.core.illegal(
      "mmio-queue-absent",
      `${what} with QueueSel ${this.sel} (no such queue)`,
    );
  }

  liveQueue(field: string): MmioReply {
    return this.core.illegal(
      "mmio-queue-live",
      `write of queue ${field} while queue ${this.sel} is ready`,
    );
  }

  readNumMax(): number {
    return this.device.queueMaxSizes[this.sel] ?? this.absentNumMax(this);
  }

  readReady(): number | MmioReply {
    const q = this.queues[this.sel];
    if (q !== undefined) return q.ready ? 1 : 0;
    return this.absentQueue("read of QueueReady");
  }

  writeNum(value: number): MmioReply {
    const q = this.queues[this.sel];
    if (q === undefined) return this.absentQueue("write of queue num");
    return this.numWrite(this, q, value) ?? this.regeometry(q);
  }

  writeAddress(field: AddressField, value: number, high: boolean): MmioReply {
    const q = this.queues[this.sel];
    if (q === undefined) return this.absentQueue(`write of queue ${field}`);
    return this.addressWrite(this, q, field, value, high) ?? this.regeometry(q);
  }

  /** A live queue follows registers libvmm lets change while ready (§4.2). */
  private regeometry(q: QueueRegs): MmioReply {
    if (q.ready && q.queue !== undefined) q.queue.setGeometry(geometryOf(q));
    return OK;
  }

  writeReady(value: number): MmioReply {
    const sel = this.sel;
    const q = this.queues[sel];
    if (q === undefined) return this.absentReady(this, value);
    const stop = this.readyValue(this, q, value);
    if (stop !== undefined) return stop;
    if (q.ready) return OK;
    const geometry = geometryOf(q);
    const negotiated = this.host.negotiatedFeatures;
    const options: SplitVirtqueueOptions = {
      memory: this.host.memory,
      geometry,
      maxSize: this.device.queueMaxSizes[sel] ?? 0,
      features: {
        eventIdx: hasFeature(negotiated, Feature.EVENT_IDX),
        indirect: hasFeature(negotiated, Feature.INDIRECT_DESC),
      },
      defects: this.defects,
      ...this.queueCallbacks,
    };
    const refused = this.enableCheck(this, geometry, options.maxSize ?? 0);
    if (refused !== undefined) return refused;
    q.ready = true;
    q.queue = new SplitVirtqueue(options);
    return OK;
  }

  writeReset(value: number): MmioReply {
    if (!hasFeature(this.host.negotiatedFeatures, Feature.RING_RESET)) {
      return this.core.illegal("mmio-bad-offset", "QueueReset without VIRTIO_F_RING_RESET");
    }
    const q = this.queues[this.sel];
    if (q === undefined) return this.absentQueue("write of QueueReset");
    if (value === 1) this.queues[this.sel] = emptyQueue();
    return OK;
  }

  writeNotify(value: number): MmioReply {
    const index = this.admitNotify(this, value);
    if (typeof index !== "number") return index;
    const injected = this.device.queueNotify(index);
    const crashed = this.host.crashed;
    if (crashed !== undefined) return { value: 0, resume: false, finding: crashed };
    return injected ? OK : this.injectFailure(this, value);
  }
}

function geometryOf(q: QueueRegs): QueueGeometry {
  return { size: q.num, descAddr: q.desc, availAddr: q.avail, usedAddr: q.used };
}

/** Bitwise OR of two non-negative integers below 2^64 held as numbers. */
function orAddress(a: number, b: number): number {
  const hi = (Math.floor(a / 0x1_0000_0000) | Math.floor(b / 0x1_0000_0000)) >>> 0;
  const lo = ((a % 0x1_0000_0000) | (b % 0x1_0000_0000)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}
