/**
 * The kernel configuration the parser validates against, as data (reference §4.5: the
 * microkit tool's `tests/test.rs` configurations). Everything here is what `sdf.rs` reads
 * from the kernel build: architecture, hypervisor and IOMMU support, cores, domains, the
 * user address-space top, SMC forwarding.
 */
export type Arch = "aarch64" | "riscv64" | "x86_64";

export interface PlatformConfig {
  readonly arch: Arch;
  /** Kernel built as a hypervisor: `virtual_machine` allowed. */
  readonly hypervisor: boolean;
  /** Kernel built with IOMMU support: `io_address_space` allowed. */
  readonly iommu: boolean;
  readonly numCores: number;
  /** `KernelNumDomains`. */
  readonly numDomains: number;
  /** `KernelNumDomainSchedules`. */
  readonly numDomainSchedules: number;
  /**
   * ARM SMC forwarding: `true` allowed, `false` built without it, `undefined` not known for
   * this platform (then `smc="true"` gives the bare "not available" error, §4.5).
   */
  readonly armSmc: boolean | undefined;
  /** Highest user virtual address (inclusive), `seL4_UserTop`. */
  readonly vspaceUserTop: bigint;
  /** Largest IOMMU I/O virtual address (inclusive). */
  readonly maxIova: bigint;
  /** Supported page sizes, smallest first. */
  readonly pageSizes: readonly [bigint, bigint];
}

const SMALL_PAGE = 0x1000n;
const LARGE_PAGE = 0x20_0000n;

/** The AArch64 configuration of the tool's test suite: unicore, hypervisor and IOMMU on, SMC unset. */
export const AARCH64_CONFIG: PlatformConfig = {
  arch: "aarch64",
  hypervisor: true,
  iommu: true,
  numCores: 1,
  numDomains: 16,
  numDomainSchedules: 100,
  armSmc: undefined,
  vspaceUserTop: 0xff_ffff_ffffn,
  maxIova: 0x7f_ffff_ffffn,
  pageSizes: [SMALL_PAGE, LARGE_PAGE],
};

/** The test suite's 4-core AArch64 variant. */
export const AARCH64_SMP_CONFIG: PlatformConfig = { ...AARCH64_CONFIG, numCores: 4 };

/** An AArch64 board whose kernel forwards SMC calls (e.g. ZCU102, §4.6). */
export const AARCH64_SMC_CONFIG: PlatformConfig = { ...AARCH64_CONFIG, armSmc: true };

/** The test suite's x86-64 configuration. */
export const X86_64_CONFIG: PlatformConfig = {
  ...AARCH64_CONFIG,
  arch: "x86_64",
  vspaceUserTop: 0x7fff_ffff_efffn,
};

/** Named presets, for command lines and test tables. */
export const PLATFORM_CONFIGS = {
  aarch64: AARCH64_CONFIG,
  "aarch64-smp": AARCH64_SMP_CONFIG,
  "aarch64-smc": AARCH64_SMC_CONFIG,
  x86_64: X86_64_CONFIG,
} as const satisfies Record<string, PlatformConfig>;

export type PlatformName = keyof typeof PLATFORM_CONFIGS;

/**
 * First virtual address a PD may not map: the stack bottom below the IPC-buffer page at the
 * top of the user VSpace and a 4 KiB guard page (§1.3 "PD map limit").
 */
export function pdMapLimit(config: PlatformConfig, stackSize: bigint): bigint {
  const ipcBuffer = config.vspaceUserTop & ~(SMALL_PAGE - 1n);
  return ipcBuffer - SMALL_PAGE - stackSize;
}

/** First guest-physical address a VM may not map (user top + 1). */
export function vmMapLimit(config: PlatformConfig): bigint {
  return config.vspaceUserTop + 1n;
}
