/**
 * Configuration records of the two virtualisers, as data (sddf-serial reference §4:
 * `serial_virt_tx_config_t`, `serial_virt_rx_config_t`), plus the vmmux fidelity profile.
 * Builders fill sdfgen's defaults and reject what the real tool chain would reject.
 */
import { DEFAULT_PROFILE, isProfile, type Profile } from "@vmmux/profiles";
import { SerialVirtError } from "./errors.js";

/** The fidelity profile, re-exported from `@vmmux/profiles` for existing importers. */
export type { Profile };

/** `serial_connection_resource_t`: a queue region, a data region and the channel to the peer. */
export interface SerialConnection {
  /** SDF name of the region holding `serial_queue_t` (tail, head, producer_signalled). */
  readonly queue: string;
  /** SDF name of the byte ring; its size is the queue capacity (a power of two). */
  readonly data: string;
  /** This PD's end of the channel to the peer. */
  readonly channel: number;
}

/** `SDDF_SERIAL_MAX_CLIENTS` (reference §4). */
export const MAX_CLIENTS = 64;
/** `SDDF_SERIAL_BEGIN_STR_MAX_LEN`; one byte is needed for the NUL (reference §4). */
export const BEGIN_STR_MAX_LEN = 128;
/** `SDDF_NAME_LENGTH`, including the NUL. */
export const NAME_LENGTH = 64;
/** sdfgen's hard-coded switch character: Ctrl+\ (ASCII FS) (reference §4). */
export const DEFAULT_SWITCH_CHAR = 0x1c;
/** sdfgen's hard-coded number terminator: Enter (reference §4). */
export const DEFAULT_TERMINATE_NUM_CHAR = 0x0d;
/** sdfgen's default `begin_str` since 2025-04-28 (reference §4). */
export const DEFAULT_BEGIN_STR = "Begin input\r\n";

/**
 * Defects of the TX virtualiser that `reference` keeps and `hardened` fixes, each a named
 * switch so a test can show it on and off.
 */
export interface VirtTxDefects {
  /** §5.6/§10 T4: a unit (client bytes + colour) larger than the driver queue never moves. */
  readonly oversizedUnitStalls: boolean;
  /** §2.4/§10 T7: `transfer_all` advances the source by a whole chunk even when the destination took fewer bytes. */
  readonly transferOverflowDrops: boolean;
}

/** Defects of the RX virtualiser that `reference` keeps and `hardened` fixes. */
export interface VirtRxDefects {
  /** §6.2/§10 R5: a byte for a full client queue vanishes without any report. */
  readonly silentFullDrop: boolean;
}

export interface VirtTxClient {
  readonly conn: SerialConnection;
  /** PD name shown in the banner (≤ 63 bytes). */
  readonly name: string;
}

/** `serial_virt_tx_config_t` plus vmmux's switches. */
export interface VirtTxConfig {
  readonly profile: Profile;
  readonly driver: SerialConnection;
  readonly clients: readonly VirtTxClient[];
  /** Sent to the driver at init when `enableRx` (§5.4); bytes are the string's char codes. */
  readonly beginStr: string;
  readonly enableColour: boolean;
  readonly enableRx: boolean;
  /**
   * vmmux option (hardened only, off by default): a client line that fits the driver queue
   * is never split by another client's bytes; longer lines are split and counted.
   */
  readonly lineAtomic: boolean;
  /** Debug build: the client banner and logs go to the debug console (§5.4). */
  readonly debugBuild: boolean;
  readonly defects: VirtTxDefects;
}

/** Which switch-sequence scheme virt_rx understands (§6.3). */
export type SwitchScheme =
  /** sDDF since mid-2024: switch char, decimal digits, terminator; 0-based clients. */
  | "sddf"
  /** sDDF `mux_rx` before June 2024: `@` then one digit, 1-based, `@m` broadcasts, `\` escapes. */
  | "legacy-at";

/** `serial_virt_rx_config_t` plus vmmux's switches. */
export interface VirtRxConfig {
  readonly profile: Profile;
  readonly driver: SerialConnection;
  readonly clients: readonly SerialConnection[];
  readonly switchChar: number;
  readonly terminateNumChar: number;
  readonly scheme: SwitchScheme;
  readonly debugBuild: boolean;
  readonly defects: VirtRxDefects;
}

export type VirtTxConfigInput = Pick<VirtTxConfig, "driver" | "clients"> &
  Partial<Omit<VirtTxConfig, "driver" | "clients" | "defects">> & {
    readonly defects?: Partial<VirtTxDefects>;
  };

export type VirtRxConfigInput = Pick<VirtRxConfig, "driver" | "clients"> &
  Partial<Omit<VirtRxConfig, "driver" | "clients" | "defects">> & {
    readonly defects?: Partial<VirtRxDefects>;
  };

function checkChannels(
  where: string,
  driver: SerialConnection,
  clients: readonly SerialConnection[],
) {
  if (clients.length > MAX_CLIENTS) {
    throw new SerialVirtError(
      "BAD_CLIENT_COUNT",
      `${where}: ${clients.length} clients exceed SDDF_SERIAL_MAX_CLIENTS (${MAX_CLIENTS})`,
    );
  }
  const seen = new Set<number>();
  for (const [index, conn] of [driver, ...clients].entries()) {
    const what = index === 0 ? "driver" : `clients[${index - 1}]`;
    if (!Number.isInteger(conn.channel) || conn.channel < 0 || conn.channel > 62) {
      throw new SerialVirtError(
        "BAD_CHANNEL",
        `${where}: ${what}.channel ${conn.channel} is not a channel id 0..62`,
      );
    }
    if (seen.has(conn.channel)) {
      throw new SerialVirtError(
        "BAD_CHANNEL",
        `${where}: ${what}.channel ${conn.channel} is used twice`,
      );
    }
    seen.add(conn.channel);
  }
}

/** The two fidelity profiles (DESIGN.md); anything else would silently act as `hardened`. */
function checkProfile(where: string, profile: Profile): Profile {
  if (!isProfile(profile)) {
    throw new SerialVirtError("BAD_PROFILE", `${where}: unknown profile '${String(profile)}'`);
  }
  return profile;
}

function isByte(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xff;
}

/** Fill sdfgen's defaults and validate (reference §4, §5). */
export function virtTxConfig(input: VirtTxConfigInput): VirtTxConfig {
  const profile = checkProfile("virt_tx config", input.profile ?? DEFAULT_PROFILE);
  const reference = profile === "reference";
  const config: VirtTxConfig = {
    profile,
    driver: input.driver,
    clients: input.clients,
    beginStr: input.beginStr ?? DEFAULT_BEGIN_STR,
    enableColour: input.enableColour ?? true,
    enableRx: input.enableRx ?? true,
    lineAtomic: input.lineAtomic ?? false,
    debugBuild: input.debugBuild ?? true,
    defects: {
      oversizedUnitStalls: input.defects?.oversizedUnitStalls ?? reference,
      transferOverflowDrops: input.defects?.transferOverflowDrops ?? reference,
    },
  };
  checkChannels(
    "virt_tx config",
    config.driver,
    config.clients.map((c) => c.conn),
  );
  // A 128-byte begin_str has no NUL and virt_tx's strlen runs into the next fields (§4).
  if (config.beginStr.length >= BEGIN_STR_MAX_LEN || !/^[\x01-\xff]*$/.test(config.beginStr)) {
    throw new SerialVirtError(
      "BAD_BEGIN_STR",
      `virt_tx config: begin_str must be at most ${BEGIN_STR_MAX_LEN - 1} non-NUL byte characters`,
    );
  }
  for (const [k, client] of config.clients.entries()) {
    if (client.name.length >= NAME_LENGTH || !/^[\x01-\xff]*$/.test(client.name)) {
      throw new SerialVirtError(
        "BAD_CLIENT_NAME",
        `virt_tx config: clients[${k}].name must be at most ${NAME_LENGTH - 1} non-NUL byte characters`,
      );
    }
  }
  if (config.lineAtomic && reference) {
    throw new SerialVirtError(
      "PROFILE_MISMATCH",
      "virt_tx config: lineAtomic exists only under the hardened profile",
    );
  }
  return config;
}

/** Fill sdfgen's defaults and validate (reference §4, §6). */
export function virtRxConfig(input: VirtRxConfigInput): VirtRxConfig {
  const profile = checkProfile("virt_rx config", input.profile ?? DEFAULT_PROFILE);
  const config: VirtRxConfig = {
    profile,
    driver: input.driver,
    clients: input.clients,
    switchChar: input.switchChar ?? DEFAULT_SWITCH_CHAR,
    terminateNumChar: input.terminateNumChar ?? DEFAULT_TERMINATE_NUM_CHAR,
    scheme: input.scheme ?? "sddf",
    debugBuild: input.debugBuild ?? true,
    defects: { silentFullDrop: input.defects?.silentFullDrop ?? profile === "reference" },
  };
  checkChannels("virt_rx config", config.driver, config.clients);
  if (config.scheme !== "sddf" && config.scheme !== "legacy-at") {
    throw new SerialVirtError(
      "BAD_SCHEME",
      `virt_rx config: unknown switch scheme '${String(config.scheme)}' (sddf or legacy-at)`,
    );
  }
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  if (!isByte(config.switchChar) || isDigit(config.switchChar)) {
    throw new SerialVirtError(
      "BAD_SWITCH_CHAR",
      `virt_rx config: switch_char ${config.switchChar} must be a non-digit byte`,
    );
  }
  if (
    !isByte(config.terminateNumChar) ||
    isDigit(config.terminateNumChar) ||
    config.terminateNumChar === config.switchChar
  ) {
    throw new SerialVirtError(
      "BAD_SWITCH_CHAR",
      `virt_rx config: terminate_num_char ${config.terminateNumChar} must be a non-digit byte other than switch_char`,
    );
  }
  return config;
}
