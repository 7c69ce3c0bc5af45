/**
 * `vmmux-guest-assets`: fetches the pinned Debian packages by name, checks their hashes, and
 * builds the real guest's boot files into a cache directory (reference real-guest.md §1–§3).
 * The directory is filled in a staging directory and renamed into place, so it is either
 * absent or complete.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { type VirtioMmioWindow, virtioMmioSsdt } from "./acpi.js";
import { buildInitramfs } from "./initramfs.js";
import {
  BUSYBOX_PACKAGE,
  CONSOLE_MODULES,
  GUEST_PACKAGES,
  KERNEL_PACKAGE,
  KERNEL_RELEASE,
  type PinnedPackage,
} from "./packages.js";

/** Where the console window sits in the guest's physical address space (real-guest.md §3). */
export const CONSOLE_WINDOW: VirtioMmioWindow = { base: 0xfe000000, size: 0x1000, irq: 5 };

/** The files a real guest boots from. */
export interface GuestAssetPaths {
  readonly dir: string;
  readonly bzImage: string;
  readonly initrd: string;
  readonly bios: string;
  readonly vgaBios: string;
}

/** The cache directory: `VMMUX_GUEST_ASSETS`, else `~/.cache/vmmux/guest-assets`. */
export function guestAssetDir(): string {
  return process.env.VMMUX_GUEST_ASSETS ?? join(homedir(), ".cache", "vmmux", "guest-assets");
}

export function guestAssetPaths(dir = guestAssetDir()): GuestAssetPaths {
  return {
    dir,
    bzImage: join(dir, "bzImage"),
    initrd: join(dir, "initrd.cpio"),
    bios: join(dir, "bios.bin"),
    vgaBios: join(dir, "vgabios-stdvga.bin"),
  };
}

/** The command that builds the assets, for messages of tests that need them. */
export const GUEST_ASSETS_COMMAND = "pnpm guest-assets";

/** Whether every boot file is present (tests skip, naming GUEST_ASSETS_COMMAND, when not). */
export function guestAssetsPresent(dir = guestAssetDir()): boolean {
  const paths = guestAssetPaths(dir);
  return [paths.bzImage, paths.initrd, paths.bios, paths.vgaBios].every((p) => existsSync(p));
}

/** A setup step that failed, with what to do about it. */
export class GuestAssetError extends Error {
  readonly code = "GUEST_ASSETS";
  constructor(message: string) {
    super(message);
    this.name = "GuestAssetError";
  }
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function download(pkg: PinnedPackage, into: string): string {
  try {
    execFileSync("apt-get", ["download", `${pkg.name}=${pkg.version}`], {
      cwd: into,
      stdio: "pipe",
    });
  } catch (error) {
    const detail = String((error as { stderr?: Buffer }).stderr ?? error).trim();
    throw new GuestAssetError(
      `apt-get could not download ${pkg.name} ${pkg.version}: ${detail}\n` +
        "For i386 packages run once, as root: dpkg --add-architecture i386 && apt-get update",
    );
  }
  const base = pkg.name.split(":")[0] as string;
  const file = readdirSync(into).find((f) => f.startsWith(`${base}_`) && f.endsWith(".deb"));
  if (!file) throw new GuestAssetError(`apt-get reported success but left no ${base} package`);
  const path = join(into, file);
  const actual = sha256(readFileSync(path));
  if (actual !== pkg.sha256) {
    throw new GuestAssetError(
      `${file}: SHA-256 ${actual} is not the pinned ${pkg.sha256}; refusing to build a guest from it`,
    );
  }
  return path;
}

/** Fetches, checks and builds; returns the paths. Does nothing when the assets exist already. */
export function fetchGuestAssets(
  dir = guestAssetDir(),
  log: (line: string) => void = () => {},
): GuestAssetPaths {
  if (guestAssetsPresent(dir)) return guestAssetPaths(dir);
  mkdirSync(dirname(dir), { recursive: true });
  const work = mkdtempSync(`${dir}.staging-`);
  try {
    const debs = join(work, "debs");
    const root = join(work, "root");
    const out = join(work, "out");
    for (const d of [debs, root, out]) mkdirSync(d);
    for (const pkg of GUEST_PACKAGES) {
      log(`fetching ${pkg.name} ${pkg.version}`);
      execFileSync("dpkg-deb", ["-x", download(pkg, debs), root]);
    }
    const modules = CONSOLE_MODULES.map((m) => ({
      name: m.split("/").pop() as string,
      data: readFileSync(join(root, "lib", "modules", KERNEL_RELEASE, m)),
    }));
    const initrd = buildInitramfs({
      ssdt: virtioMmioSsdt(CONSOLE_WINDOW),
      busybox: readFileSync(join(root, "bin", "busybox")),
      modules,
    });
    const files: Record<string, Uint8Array> = {
      bzImage: readFileSync(join(root, "boot", `vmlinuz-${KERNEL_RELEASE}`)),
      "initrd.cpio": initrd,
      "bios.bin": readFileSync(join(root, "usr", "share", "seabios", "bios.bin")),
      "vgabios-stdvga.bin": readFileSync(
        join(root, "usr", "share", "seabios", "vgabios-stdvga.bin"),
      ),
    };
    const manifest = {
      packages: GUEST_PACKAGES,
      kernelRelease: KERNEL_RELEASE,
      window: CONSOLE_WINDOW,
      files: Object.fromEntries(Object.entries(files).map(([name, data]) => [name, sha256(data)])),
    };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(out, name), data);
    writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
    log(
      `guest assets in ${dir} (kernel ${KERNEL_PACKAGE.version}, busybox ${BUSYBOX_PACKAGE.version})`,
    );
    return guestAssetPaths(dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
