/**
 * Driver configuration as data (sddf-serial §4 `serial_driver_config_t` plus the device
 * resources), and the fidelity profile with the driver's named defect switches (DESIGN.md
 * "Two fidelity profiles"; the vocabulary of `@vmmux/profiles`).
 */
import { DEFAULT_PROFILE, isProfile, type Profile } from "@vmmux/profiles";
import { Pl011Error } from "./errors.js";

export type { Profile } from "@vmmux/profiles";

/**
 * Each defect of the sDDF PL011 driver as a switch: on = the real driver's behaviour.
 * `reference` turns on the defects of sDDF HEAD; `hardened` turns all of them off.
 * `lcrhWlenBug` and `txImRequiresTxff` are historical (older sDDF releases) and off in both
 * profiles unless asked for. The two behaviours of each switch are in `driver-defects.ts`.
 */
export interface DriverDefects {
  /** sddf-serial §7.2 step 8: `LCR_H |= PEN` although commented "disable parity" → 8O1. */
  readonly parityEnabled: boolean;
  /** sddf-serial §7.6: divisor truncated to an integer; FBRD written as IBRD × 64 (→ 0). */
  readonly baudFractionTruncated: boolean;
  /** sddf-serial §7.2: no write to UARTICR ever (stale status survives init). */
  readonly noIcrWrites: boolean;
  /** sddf-serial §7.4, §10 R4: DR bits 11:8 (OE/BE/PE/FE) dropped without a report. */
  readonly errorBitsIgnored: boolean;
  /** sddf-serial §7.7 (2024-05-24 → 2026-08-14): `<` for `<<` → LCR_H 0x13 (BRK, 5-bit words). */
  readonly lcrhWlenBug: boolean;
  /**
   * sddf-serial §7.7 (until 2025-08-06): after the fill loop TXIM is enabled only if FR.TXFF
   * is *still* set; a FIFO that drained a character meanwhile leaves bytes queued with TXIM
   * masked (stall until the next virt_tx notification).
   */
  readonly txImRequiresTxff: boolean;
  /** sddf-serial §7.2 step 1 (pl011 §10 step 1): `uart_setup` polls FR.BUSY with no bound. */
  readonly busySpinUnbounded: boolean;
  /** sddf-serial §7.4: `handle_irq` loops while MIS shows work, with no bound on passes. */
  readonly irqLoopUnbounded: boolean;
}

/** @deprecated The earlier name of {@link DriverDefects}. */
export type DriverQuirks = DriverDefects;

export const REFERENCE_DEFECTS: DriverDefects = {
  parityEnabled: true,
  baudFractionTruncated: true,
  noIcrWrites: true,
  errorBitsIgnored: true,
  lcrhWlenBug: false,
  txImRequiresTxff: false,
  busySpinUnbounded: true,
  irqLoopUnbounded: true,
};

export const HARDENED_DEFECTS: DriverDefects = {
  parityEnabled: false,
  baudFractionTruncated: false,
  noIcrWrites: false,
  errorBitsIgnored: false,
  lcrhWlenBug: false,
  txImRequiresTxff: false,
  busySpinUnbounded: false,
  irqLoopUnbounded: false,
};

/** @deprecated The earlier names of {@link REFERENCE_DEFECTS} and {@link HARDENED_DEFECTS}. */
export const REFERENCE_QUIRKS: DriverDefects = REFERENCE_DEFECTS;
export const HARDENED_QUIRKS: DriverDefects = HARDENED_DEFECTS;

/** One sDDF serial connection (sddf-serial §1, §4): queue region, data region, channel. */
export interface ConnectionConfig {
  /** This PD's end of the channel to the virtualiser. */
  readonly channel: number;
  /** SDF name of the region holding `serial_queue_t`. */
  readonly queueRegion: string;
  /** SDF name of the data region (the byte ring). */
  readonly dataRegion: string;
  /** Ring size; defaults to the data region's size (`data.size`). */
  readonly capacity?: number;
}

export interface Pl011DriverConfig {
  /** Default `hardened`. */
  readonly profile?: Profile;
  /** Individual defect switches over the profile's defaults. */
  readonly defects?: Partial<DriverDefects>;
  /** The earlier name of `defects` (both may be given; `defects` wins). */
  readonly quirks?: Partial<DriverDefects>;
  /** SDF name of the 4 KiB device region. */
  readonly mmioRegion: string;
  /** Channel on which the device IRQ arrives. */
  readonly irqChannel: number;
  /** Driver TX queue: virt_tx produces, the driver consumes. */
  readonly tx: ConnectionConfig;
  /** Driver RX queue (driver produces); absent = `rx_enabled` false. */
  readonly rx?: ConnectionConfig;
  /** `default_baud`; default 115200. */
  readonly defaultBaud?: number;
  /** `PL011_UART_REF_CLOCK`; default 24 MHz (sddf-serial §7.1). */
  readonly uartClockHz?: number;
  /**
   * Passes of the IRQ loop before the hardened driver returns and lets the still-asserted
   * line fire again (Linux uses 256); the reference driver loops until MIS is clear.
   */
  readonly maxIrqPasses?: number;
}

/** A checked configuration with every default filled in. */
export interface ResolvedDriverConfig {
  readonly profile: Profile;
  readonly defects: DriverDefects;
  /** The same switches as `defects`, under their earlier name. */
  readonly quirks: DriverDefects;
  readonly mmioRegion: string;
  readonly irqChannel: number;
  readonly tx: ConnectionConfig;
  readonly rx: ConnectionConfig | undefined;
  readonly defaultBaud: number;
  readonly uartClockHz: number;
  readonly maxIrqPasses: number;
}

function checkChannel(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 62) {
    throw new Pl011Error(
      "PL011_BAD_DRIVER_CONFIG",
      `driver config: ${field} ${value} is not a channel id 0–62`,
    );
  }
}

/** Fill defaults and reject configurations the real driver would assert on. */
export function resolveDriverConfig(config: Pl011DriverConfig): ResolvedDriverConfig {
  const profile: Profile = config.profile ?? DEFAULT_PROFILE;
  if (!isProfile(profile)) {
    throw new Pl011Error(
      "PL011_BAD_DRIVER_CONFIG",
      `driver config: unknown profile '${String(profile)}'`,
    );
  }
  const base = profile === "reference" ? REFERENCE_DEFECTS : HARDENED_DEFECTS;
  const defects = { ...base, ...config.quirks, ...config.defects };
  checkChannel(config.irqChannel, "irqChannel");
  checkChannel(config.tx.channel, "tx.channel");
  if (config.rx) checkChannel(config.rx.channel, "rx.channel");
  const ids = [config.irqChannel, config.tx.channel, config.rx?.channel].filter(
    (c) => c !== undefined,
  );
  if (new Set(ids).size !== ids.length) {
    throw new Pl011Error(
      "PL011_BAD_DRIVER_CONFIG",
      `driver config: channel ids ${ids.join(", ")} are not distinct`,
    );
  }
  const defaultBaud = config.defaultBaud ?? 115_200;
  const uartClockHz = config.uartClockHz ?? 24_000_000;
  if (!(Number.isFinite(defaultBaud) && defaultBaud > 0)) {
    throw new Pl011Error(
      "PL011_BAD_DRIVER_CONFIG",
      `driver config: defaultBaud ${defaultBaud} is not a positive baud rate`,
    );
  }
  if (!(Number.isFinite(uartClockHz) && uartClockHz > 0)) {
    throw new Pl011Error(
      "PL011_BAD_DRIVER_CONFIG",
      `driver config: uartClockHz ${uartClockHz} is not a positive clock rate`,
    );
  }
  const maxIrqPasses = config.maxIrqPasses ?? 256;
  if (!Number.isSafeInteger(maxIrqPasses) || maxIrqPasses < 1) {
    // NaN would switch the hardened bound off (`passes >= NaN` is never true).
    throw new Pl011Error(
      "PL011_BAD_DRIVER_CONFIG",
      `driver config: maxIrqPasses ${maxIrqPasses} is not a positive integer`,
    );
  }
  if (!(uartClockHz >= 16 * defaultBaud)) {
    // set_baud asserts IBRD ≥ 1 (sddf-serial §7.6).
    throw new Pl011Error(
      "PL011_BAD_DRIVER_CONFIG",
      `driver config: defaultBaud ${defaultBaud} needs UARTCLK ≥ ${16 * defaultBaud} Hz (have ${uartClockHz})`,
    );
  }
  return {
    profile,
    defects,
    quirks: defects,
    mmioRegion: config.mmioRegion,
    irqChannel: config.irqChannel,
    tx: config.tx,
    rx: config.rx,
    defaultBaud,
    uartClockHz,
    maxIrqPasses,
  };
}
