/**
 * `virtio_mmio_probe` → `register_virtio_device` → `virtio_dev_probe` → `virtcons_probe`, as
 * the device sees it: the register sequence of reference virtio §5.1 (single port) and the
 * MULTIPORT start of §3.5 (max_nr_ports, control queues, DEVICE_READY).
 */
import { type GuestStep, work } from "@vmmux/microkit-pd";
import {
  DriverQueueError,
  DriverVirtqueue,
  Feature,
  featureBit,
  hasFeature,
  MMIO_MAGIC,
  Reg,
  Status,
} from "@vmmux/virtio-core";
import { ConfigOffset } from "../config.js";
import {
  BAD_PORT_ID,
  CONTROL_RX_QUEUE,
  CONTROL_TX_QUEUE,
  ConsoleFeature,
  ControlEvent,
  LINUX_MAX_PORTS,
  PAGE_SIZE,
} from "../constants.js";
import { CONTROL_HEADER_SIZE } from "../control.js";
import { runControlWork, sendControl } from "./control.js";
import type { DriverState } from "./driver-state.js";
import { attachConsole, createPort, fillReceiveQueue } from "./ports.js";

/** Why the probe ended. */
export type ProbeOutcome =
  | { readonly ok: true; readonly features: bigint; readonly queueSize: number }
  | { readonly ok: false; readonly reason: string };

/** Linux's driver feature table for virtio_console (reference §5.4). */
const LINUX_CONSOLE_FEATURES =
  featureBit(ConsoleFeature.SIZE) | featureBit(ConsoleFeature.MULTIPORT);

/** Transport features `vring_transport_features` keeps when the device offers them. */
const TRANSPORT_FEATURES =
  featureBit(Feature.INDIRECT_DESC) |
  featureBit(Feature.EVENT_IDX) |
  featureBit(Feature.VERSION_1) |
  featureBit(Feature.ACCESS_PLATFORM) |
  featureBit(Feature.RING_PACKED) |
  featureBit(Feature.ORDER_PLATFORM) |
  featureBit(Feature.SR_IOV) |
  featureBit(Feature.NOTIFICATION_DATA) |
  featureBit(Feature.RING_RESET);

/**
 * Transport features this model drives: all of the above but the packed ring and the
 * platform features no modelled device offers. INDIRECT_DESC is negotiated as Linux does;
 * the console adds one-buffer chains only, which `virtqueue_add_split` never makes indirect.
 */
const MODELLED_TRANSPORT =
  featureBit(Feature.VERSION_1) | featureBit(Feature.EVENT_IDX) | featureBit(Feature.INDIRECT_DESC);

export function* probe(s: DriverState): GuestStep<ProbeOutcome> {
  const magic = yield* s.read(Reg.MagicValue);
  if (magic !== MMIO_MAGIC) return { ok: false, reason: `bad magic 0x${magic.toString(16)}` };
  const version = yield* s.read(Reg.Version);
  if (version < 1 || version > 2) return { ok: false, reason: `version ${version}` };
  const deviceId = yield* s.read(Reg.DeviceID);
  // Device ID 0 is a placeholder: ignore it silently (§4.2.3.1).
  if (deviceId === 0) return { ok: false, reason: "device id 0" };
  yield* s.read(Reg.VendorID);
  if (version !== 2) return { ok: false, reason: "legacy device not modelled" };

  // register_virtio_device: reset (no read-back poll), then ACKNOWLEDGE.
  yield* s.write(Reg.Status, 0);
  yield* s.addStatus(Status.ACKNOWLEDGE);
  // virtio_dev_probe
  yield* s.addStatus(Status.DRIVER);
  yield* s.write(Reg.DeviceFeaturesSel, 1);
  const high = yield* s.read(Reg.DeviceFeatures);
  yield* s.write(Reg.DeviceFeaturesSel, 0);
  const low = yield* s.read(Reg.DeviceFeatures);
  const offered = (BigInt(high) << 32n) | BigInt(low);
  const known = s.options.driverFeatures ?? LINUX_CONSOLE_FEATURES;
  const features = (known & offered) | (offered & TRANSPORT_FEATURES & MODELLED_TRANSPORT);
  if (!hasFeature(features, Feature.VERSION_1)) {
    // vm_finalize_features: a v2 device must offer VERSION_1.
    yield* s.addStatus(Status.FAILED);
    return { ok: false, reason: "device does not offer VIRTIO_F_VERSION_1" };
  }
  yield* s.write(Reg.DriverFeaturesSel, 1);
  yield* s.write(Reg.DriverFeatures, Number(features >> 32n) >>> 0);
  yield* s.write(Reg.DriverFeaturesSel, 0);
  yield* s.write(Reg.DriverFeatures, Number(features & 0xffff_ffffn) >>> 0);
  yield* s.addStatus(Status.FEATURES_OK);
  const status = yield* s.read(Reg.Status);
  if ((status & Status.FEATURES_OK) === 0) {
    yield* s.addStatus(Status.FAILED);
    return { ok: false, reason: "device refuses features" };
  }
  s.features = features;

  // virtcons_probe: with MULTIPORT, max_nr_ports decides how many queues exist.
  s.multiport = hasFeature(features, ConsoleFeature.MULTIPORT);
  if (s.multiport) {
    const max = yield* s.read(Reg.Config + ConfigOffset.maxNrPorts);
    if (max === 0 || max > LINUX_MAX_PORTS) {
      return yield* fail(s, `invalid max_nr_ports ${max}`);
    }
    s.maxNrPorts = max;
  }
  // init_vqs → vm_find_vqs → vm_setup_vq for every queue, in index order.
  const count = s.multiport ? 2 * (s.maxNrPorts + 1) : 2;
  for (let index = 0; index < count; index++) {
    const q = yield* setupQueue(s, index, features);
    if (typeof q === "string") return yield* fail(s, q);
    s.queues.push(q);
  }
  // virtio_device_ready: DRIVER_OK before buffers are added.
  yield* s.addStatus(Status.DRIVER_OK);
  if (s.multiport) {
    // fill_queue(c_ivq), then DEVICE_READY; ports arrive as PORT_ADD messages.
    const controlRx = s.queues[CONTROL_RX_QUEUE]!;
    while (controlRx.numFree > 0) {
      const addr = s.alloc(PAGE_SIZE, PAGE_SIZE);
      const head = controlRx.addChain([], [{ addr, len: PAGE_SIZE }]);
      if (head instanceof DriverQueueError) break;
      s.controlBuffers.set(head, addr);
      yield* s.kick(controlRx, CONTROL_RX_QUEUE);
      yield* s.irqWindow();
    }
    s.controlOut = s.alloc(CONTROL_HEADER_SIZE, 64);
    yield* sendControl(s, BAD_PORT_ID, ControlEvent.DEVICE_READY, 1);
  } else {
    // add_port(0): fill_queue, then init_port_console, then onto the port list.
    const port = createPort(s, 0);
    yield* fillReceiveQueue(s, port);
    attachConsole(s, port);
    yield work("guest-compute", 1);
    port.listed = true;
  }
  // virtio_dev_probe: DRIVER_OK is already set, so only the read.
  yield* s.read(Reg.Status);
  // The control work DEVICE_READY's interrupt scheduled runs once the probe has returned.
  yield* runControlWork(s);
  return { ok: true, features, queueSize: s.queues[0]!.size };
}

function* fail(s: DriverState, reason: string): GuestStep<ProbeOutcome> {
  yield* s.addStatus(Status.FAILED);
  return { ok: false, reason };
}

/**
 * `vm_setup_vq`: select, check not ready, read max, allocate, program, enable. The control
 * transmitq is created without a callback, so `__vring_new_virtqueue` sets NO_INTERRUPT in
 * `avail.flags` (without EVENT_IDX; with it `used_event` simply stays 0).
 */
function* setupQueue(
  s: DriverState,
  index: number,
  features: bigint,
): GuestStep<DriverVirtqueue | string> {
  yield* s.write(Reg.QueueSel, index);
  const ready = yield* s.read(Reg.QueueReady);
  if (ready !== 0) return `queue ${index} already set up`;
  const num = yield* s.read(Reg.QueueNumMax);
  if (num === 0) return `queue ${index} absent`;
  // vring_alloc_queue_split rejects a size that is not a power of two.
  if ((num & (num - 1)) !== 0 || num > 32768) return `bad virtqueue length ${num}`;
  // Legacy-compatible layout with MMIO's PAGE_SIZE alignment (reference §5.1).
  const descAddr = s.alloc(16 * num + 6 + 2 * num, PAGE_SIZE);
  const availAddr = descAddr + 16 * num;
  const usedAddr = s.alloc(6 + 8 * num, PAGE_SIZE);
  const queue = new DriverVirtqueue({
    memory: s.memory,
    geometry: { size: num, descAddr, availAddr, usedAddr },
    features: {
      eventIdx: hasFeature(features, Feature.EVENT_IDX),
      indirect: hasFeature(features, Feature.INDIRECT_DESC),
    },
  });
  if (s.multiport && index === CONTROL_TX_QUEUE) queue.disableInterrupts();
  yield* s.write(Reg.QueueNum, num);
  yield* s.write(Reg.QueueDescLow, descAddr % 0x1_0000_0000);
  yield* s.write(Reg.QueueDescHigh, Math.floor(descAddr / 0x1_0000_0000));
  yield* s.write(Reg.QueueDriverLow, availAddr % 0x1_0000_0000);
  yield* s.write(Reg.QueueDriverHigh, Math.floor(availAddr / 0x1_0000_0000));
  yield* s.write(Reg.QueueDeviceLow, usedAddr % 0x1_0000_0000);
  yield* s.write(Reg.QueueDeviceHigh, Math.floor(usedAddr / 0x1_0000_0000));
  yield* s.write(Reg.QueueReady, 1);
  return queue;
}
