/**
 * The Debian packages a real guest is built from (reference real-guest.md §1–§2), pinned by
 * version and SHA-256 so that every machine builds the same guest. They are fetched by name
 * with `apt-get download` at setup and never committed.
 */

export interface PinnedPackage {
  /** `name:arch` as apt takes it. */
  readonly name: string;
  readonly version: string;
  /** SHA-256 of the `.deb`, hex. */
  readonly sha256: string;
}

/** Debian 12's unmodified non-PAE i386 kernel; virtio, virtio_ring, virtio_mmio, virtio_console are modules. */
export const KERNEL_PACKAGE: PinnedPackage = {
  name: "linux-image-6.1.0-50-686-unsigned:i386",
  version: "6.1.176-1",
  sha256: "66da497253e9515b8101b7c94cf06a44574e63891cb29a323cf597de069e81d0",
};

/** A static busybox: the guest's whole userland (`/init`, the shell). */
export const BUSYBOX_PACKAGE: PinnedPackage = {
  name: "busybox-static:i386",
  version: "1:1.35.0-4+deb12u1+b1",
  sha256: "725ef9e6fbac4ab79b353165b05005e8c140d6e42177ebbc202ff1e13ded8b7c",
};

/** SeaBIOS: v86 ships no BIOS; `bios.bin` and `vgabios-stdvga.bin` boot the kernel (§1). */
export const SEABIOS_PACKAGE: PinnedPackage = {
  name: "seabios",
  version: "1.16.2-1",
  sha256: "08e5b3f761379f17a6051731cafa03e97686049e2cc1b8bdccc5a910646e2d8e",
};

export const GUEST_PACKAGES: readonly PinnedPackage[] = [
  KERNEL_PACKAGE,
  BUSYBOX_PACKAGE,
  SEABIOS_PACKAGE,
];

/** The kernel release the modules live under (`lib/modules/<release>`). */
export const KERNEL_RELEASE = "6.1.0-50-686";

/** The modules the console needs, in load order (virtio_mmio and virtio_console need the first two). */
export const CONSOLE_MODULES: readonly string[] = [
  "kernel/drivers/virtio/virtio.ko",
  "kernel/drivers/virtio/virtio_ring.ko",
  "kernel/drivers/virtio/virtio_mmio.ko",
  "kernel/drivers/char/virtio_console.ko",
];
