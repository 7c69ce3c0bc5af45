/**
 * The guest's initramfs (reference real-guest.md §2–§3): the ACPI table that declares the
 * virtio-mmio console, busybox, the four console modules and an `/init` that loads them and
 * runs a shell on `/dev/hvc0`. One uncompressed newc archive, so the kernel's ACPI table
 * upgrade finds `kernel/firmware/acpi/vmmux-console.aml` in it.
 */
import { type CpioEntry, cpioArchive, S_IFDIR, S_IFLNK, S_IFREG } from "./cpio.js";

/** What goes into the archive, read from the extracted packages by the caller. */
export interface InitramfsInputs {
  readonly ssdt: Uint8Array;
  readonly busybox: Uint8Array;
  /** Module file name (e.g. `virtio.ko`) to contents, in load order. */
  readonly modules: readonly { readonly name: string; readonly data: Uint8Array }[];
}

/** The shell prompt the guest prints; tests wait for it. */
export const GUEST_PROMPT = "vmmux-guest:/# ";

/** The `/init` script: mount, load the console modules in order, then a shell on hvc0. */
export function initScript(moduleNames: readonly string[]): string {
  const loads = moduleNames.map((m) => `insmod /lib/modules/${m}`).join("\n");
  return `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
${loads}
n=0
while [ ! -e /dev/hvc0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
echo "vmmux-guest: console modules loaded"
export PS1='${GUEST_PROMPT}' HOME=/ TERM=vt100
exec setsid cttyhack sh -c 'exec sh </dev/hvc0 >/dev/hvc0 2>&1'
`;
}

const APPLETS = [
  "sh",
  "mount",
  "insmod",
  "sleep",
  "echo",
  "cat",
  "ls",
  "uname",
  "setsid",
  "cttyhack",
];

/** The archive's bytes. */
export function buildInitramfs(inputs: InitramfsInputs): Uint8Array {
  const encoder = new TextEncoder();
  const dirs = [
    "kernel",
    "kernel/firmware",
    "kernel/firmware/acpi",
    "bin",
    "dev",
    "proc",
    "sys",
    "lib",
    "lib/modules",
  ];
  const entries: CpioEntry[] = [
    ...dirs.map((name) => ({ name, mode: S_IFDIR | 0o755 })),
    { name: "kernel/firmware/acpi/vmmux-console.aml", mode: S_IFREG | 0o644, data: inputs.ssdt },
    { name: "bin/busybox", mode: S_IFREG | 0o755, data: inputs.busybox },
    ...APPLETS.map((applet) => ({
      name: `bin/${applet}`,
      mode: S_IFLNK | 0o777,
      data: encoder.encode("busybox"),
    })),
    ...inputs.modules.map((m) => ({
      name: `lib/modules/${m.name}`,
      mode: S_IFREG | 0o644,
      data: m.data,
    })),
    {
      name: "init",
      mode: S_IFREG | 0o755,
      data: encoder.encode(initScript(inputs.modules.map((m) => m.name))),
    },
  ];
  return cpioArchive(entries);
}
