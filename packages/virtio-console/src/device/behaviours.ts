/**
 * The console's defect switches (`CONSOLE_DEFECTS` in `profile.ts`) turned into behaviours,
 * once, at construction: each switch picks one of two functions or strategy objects, the
 * libvmm one (reference virtio §4, sddf-serial §9–§10) or the hardened one. Nothing else in
 * the device reads a switch.
 */
import { chooseBehaviour } from "@vmmux/profiles";
import type { SerialQueue } from "@vmmux/sddf-queues";
import {
  type BufferSegment,
  ChainError,
  type ConfigWidth,
  type DescriptorChain,
  Feature,
  featureBit,
  hasFeature,
  type SplitVirtqueue,
} from "@vmmux/virtio-core";
import { isEmergencyWrite, readConfigBytes } from "../config.js";
import { ConsoleFeature, queueRole, txQueueOf } from "../constants.js";
import { ConsoleError } from "../errors.js";
import type { ConsoleDefectSwitches } from "../profile.js";
import type { ConsoleCore } from "./core.js";
import { flushControl, handleControlTx } from "./multiport.js";
import { discardBeforeReady, handleRx, holdBeforeReady } from "./rx.js";
import {
  emergencyWrite,
  type TxSteps,
  txInParts,
  txInPartsSteps,
  txWhole,
  txWholeSteps,
} from "./tx.js";

/** What the device offers and how its config space answers (`featuresLibvmm`, §4.4, L8). */
export interface FeatureOffer {
  /** The feature bits and whether F_MULTIPORT is among them; throws on impossible options. */
  offer(ports: number, request: FeatureRequest): { features: bigint; multiport: boolean };
  readConfig(core: ConsoleCore, offset: number, width: ConfigWidth): number | undefined;
  writeConfig(core: ConsoleCore, offset: number, width: ConfigWidth, value: number): boolean;
}

/**
 * Hardened feature offer; defaults: SIZE and EMERG_WRITE on, MULTIPORT when ports > 1,
 * EVENT_IDX and INDIRECT_DESC off (QEMU offers both; the transport's queues honour them,
 * VirtIO 1.2 §2.7.7, §2.7.10, §2.7.5.3). libvmm offers VERSION_1 only, whatever is asked.
 */
export interface FeatureRequest {
  readonly size?: boolean;
  readonly emergWrite?: boolean;
  readonly multiport?: boolean;
  readonly eventIdx?: boolean;
  readonly indirectDesc?: boolean;
}

/** Which work a notification runs (`notifyRunsBoth`, §4.5). */
export interface NotifyDispatch {
  queueNotify(core: ConsoleCore, index: number): boolean;
  serialRx(core: ConsoleCore, port: number): boolean;
  /** Whether used RX buffers raise the interrupt: always (libvmm) or as suppression allows. */
  rxInterrupt(q: SplitVirtqueue): boolean;
}

/** The transmit/receive direction rule (`directionUnchecked`, L15; VirtIO 1.2 §5.3.6.1). */
export interface DirectionRule {
  /** Whether a chain with buffers of the wrong direction stops the work (true) or goes on. */
  wrong(
    core: ConsoleCore,
    port: number,
    chain: DescriptorChain,
    queue: "transmit" | "receive",
  ): boolean;
  txPayload(chain: DescriptorChain): readonly BufferSegment[];
  rxPayload(chain: DescriptorChain): readonly BufferSegment[];
}

export interface ConsoleBehaviours {
  readonly offer: FeatureOffer;
  readonly dispatch: NotifyDispatch;
  /** `txWholeChain` (§4.8): whole-or-nothing or in parts. */
  readonly tx: (core: ConsoleCore, port: number) => boolean;
  /** The same TX as steps that yield at its preemption sites (`ConsoleCore.runDeferredTx`). */
  readonly txSteps: (core: ConsoleCore, port: number) => TxSteps;
  /** `txQueueSelGate` (§4.5): whether TX of `port` may run with QueueSel at `queueSel`. */
  readonly txGate: (queueSel: number, port: number) => boolean;
  /** `txBadHeadAssert` (L5): false when the VMM trapped. */
  readonly badHead: (core: ConsoleCore, port: number, head: number, size: number) => boolean;
  /** `txOversizeAssert` (L4): false when the VMM trapped. */
  readonly oversize: (
    core: ConsoleCore,
    port: number,
    head: number,
    payload: number,
    capacity: number,
  ) => boolean;
  /** `txNoRecheck` (T8): the free space seen after requesting a signal (0 = not looked at). */
  readonly spaceAfterRequest: (txq: SerialQueue) => number;
  /** `txSignalIgnored` (L13): what virt_tx's wake-up on the TX channel does. */
  readonly txSignal: (core: ConsoleCore, port: number) => boolean;
  /** `rxDiscardBeforeReady` (L14): input that arrives before the guest can take it. */
  readonly inputWhileNotReady: (core: ConsoleCore, port: number) => void;
  readonly direction: DirectionRule;
}

const libvmmOffer: FeatureOffer = {
  offer(ports) {
    if (ports > 1) {
      throw new ConsoleError("options-invalid", `libvmm's console has one port; ${ports} given`);
    }
    return { features: featureBit(Feature.VERSION_1), multiport: false };
  },
  // libvmm's get/set_device_config return false: the access FAILs (L8).
  readConfig: () => undefined,
  writeConfig: () => false,
};

const specOffer: FeatureOffer = {
  offer(ports, request) {
    const multiport = request.multiport ?? ports > 1;
    if (!multiport && ports > 1) {
      throw new ConsoleError("options-invalid", "several ports need VIRTIO_CONSOLE_F_MULTIPORT");
    }
    let features = featureBit(Feature.VERSION_1);
    if (request.size ?? true) features |= featureBit(ConsoleFeature.SIZE);
    if (request.emergWrite ?? true) features |= featureBit(ConsoleFeature.EMERG_WRITE);
    if (multiport) features |= featureBit(ConsoleFeature.MULTIPORT);
    if (request.eventIdx ?? false) features |= featureBit(Feature.EVENT_IDX);
    if (request.indirectDesc ?? false) features |= featureBit(Feature.INDIRECT_DESC);
    return { features, multiport };
  },
  readConfig: (core, offset, width) =>
    readConfigBytes(
      { cols: core.cols, rows: core.rows, maxNrPorts: core.ports.length },
      offset,
      width,
    ),
  writeConfig(core, offset, width, value) {
    // §5.3.5.1: accept emerg_wr at any time, even before feature negotiation; output the low byte.
    if (isEmergencyWrite(offset, width) && hasFeature(core.features, ConsoleFeature.EMERG_WRITE)) {
      emergencyWrite(core, value & 0xff);
      return true;
    }
    return false;
  },
};

/** libvmm `virtio_console_queue_notify`: RX, then TX (reference §4.5). */
function rxThenTx(core: ConsoleCore): boolean {
  const rxOk = handleRx(core, 0);
  if (core.crashedBy !== undefined) return false;
  const txOk = core.tx(0);
  return rxOk && txOk;
}

const libvmmDispatch: NotifyDispatch = {
  queueNotify: (core) => rxThenTx(core),
  serialRx: (core) => rxThenTx(core),
  rxInterrupt: () => true,
};

const perQueueDispatch: NotifyDispatch = {
  queueNotify(core, index) {
    const role = queueRole(index, core.ports.length, core.multiportNegotiated());
    switch (role.kind) {
      case "rx":
        return handleRx(core, role.port);
      case "tx":
        return core.tx(role.port);
      case "control-tx":
        return handleControlTx(core);
      case "control-rx":
        return flushControl(core);
      case "none":
        return true;
    }
  },
  serialRx: (core, port) => handleRx(core, port),
  rxInterrupt: (q) => q.needsInterrupt(),
};

function describeWrong(port: number, chain: DescriptorChain, queue: "transmit" | "receive") {
  const wrong = queue === "transmit" ? chain.writable.length : chain.readable.length;
  const kind = queue === "transmit" ? "device-writable" : "device-readable";
  return { wrong, what: `port ${port}: ${queue} chain ${chain.head} has ${wrong} ${kind} buffers` };
}

/** libvmm (L15): payload counts every descriptor; a wrong direction is reported, used anyway. */
const uncheckedDirection: DirectionRule = {
  wrong(core, port, chain, queue) {
    const { wrong, what } = describeWrong(port, chain, queue);
    if (wrong === 0) return false;
    const fate = queue === "transmit" ? "sent as data" : "written anyway";
    core.found("directionUnchecked", "deviation", `${what}, ${fate}`);
    return false;
  },
  txPayload: (chain) => (chain.bad ? [] : chain.segments),
  rxPayload: (chain) => (chain.bad ? [] : chain.segments),
};

/** §5.3.6.1: a transmitq holds device-readable buffers only, a receiveq device-writable ones. */
const checkedDirection: DirectionRule = {
  wrong(core, port, chain, queue) {
    const { wrong, what } = describeWrong(port, chain, queue);
    if (wrong === 0) return false;
    core.requireHost().needsReset(new ChainError("chain-direction", what));
    return true;
  },
  txPayload: (chain) => (chain.bad ? [] : chain.readable),
  rxPayload: (chain) => (chain.bad ? [] : chain.writable),
};

/** assert(read_data(...)) fails on a head beyond the queue (L5). */
function libvmmBadHead(build: "debug" | "release") {
  return (core: ConsoleCore, port: number, head: number, size: number): boolean => {
    if (head < size) return true;
    const message = `port ${port}: tx head ${head} is not below queue size ${size}`;
    if (build === "debug") return core.crash("txBadHeadAssert", message);
    core.found("txBadHeadAssert", "deviation", `${message}; returned with len 0`);
    return true;
  };
}

/** A chain larger than the serial queue trips assert(false) (L4). */
function libvmmOversize(build: "debug" | "release") {
  return (core: ConsoleCore, port: number, head: number, payload: number, capacity: number) => {
    if (payload <= capacity) return true;
    const message = `port ${port}: tx chain ${head} of ${payload} bytes exceeds the serial queue capacity ${capacity}`;
    if (build === "debug") return core.crash("txOversizeAssert", message);
    // Release build: the assert is evaluated and ignored; the free-space check that follows
    // always fails, so this chain never leaves and TX is stalled for good.
    core.found("txOversizeAssert", "stall", message);
    return true;
  };
}

/** libvmm's example VMM: "Nothing to do" on virt_tx's signal (reference §4.5). */
function ignoreTxSignal(core: ConsoleCore, port: number): boolean {
  if (core.portState(port).txWaiting) {
    core.found("txSignalIgnored", "stall", `port ${port}: tx wake-up from virt_tx ignored`);
  }
  return true;
}

const always = () => true;

/** Pick every behaviour from the switches, once. */
export function chooseConsoleBehaviours(
  d: ConsoleDefectSwitches,
  build: "debug" | "release",
): ConsoleBehaviours {
  return {
    offer: chooseBehaviour(d.featuresLibvmm, libvmmOffer, specOffer),
    dispatch: chooseBehaviour(d.notifyRunsBoth, libvmmDispatch, perQueueDispatch),
    tx: chooseBehaviour(d.txWholeChain, txWhole, txInParts),
    txSteps: chooseBehaviour(d.txWholeChain, txWholeSteps, txInPartsSteps),
    txGate: chooseBehaviour(
      d.txQueueSelGate,
      (queueSel: number, port: number) => queueSel === txQueueOf(port),
      always,
    ),
    badHead: chooseBehaviour(d.txBadHeadAssert, libvmmBadHead(build), always),
    oversize: chooseBehaviour(d.txOversizeAssert, libvmmOversize(build), always),
    spaceAfterRequest: chooseBehaviour(
      d.txNoRecheck,
      () => 0,
      (txq: SerialQueue) => txq.free(),
    ),
    txSignal: chooseBehaviour(d.txSignalIgnored, ignoreTxSignal, (core, port) => core.tx(port)),
    inputWhileNotReady: chooseBehaviour(
      d.rxDiscardBeforeReady,
      discardBeforeReady,
      holdBeforeReady,
    ),
    direction: chooseBehaviour(d.directionUnchecked, uncheckedDirection, checkedDirection),
  };
}
