/**
 * virt_rx's input-switching state machine, pure and byte-at-a-time so it can be tested
 * alone (sddf-serial reference §6.1–§6.3). Two schemes:
 *
 * - `sddf` (§6.2, sDDF since mid-2024): `switch_char`, up to four decimal digits,
 *   `terminate_num_char`; clients are 0-based; a doubled `switch_char` sends one to the
 *   current client. The order of the tests inside each mode is the C code's.
 * - `legacy-at` (§6.3, sDDF `mux_rx` before June 2024): `@` then one digit selects client
 *   digit (1-based), `@m` broadcasts to every client, `\` sends the next byte literally.
 */
import type { SwitchScheme } from "./config.js";

/** What the virtualiser must do with one input byte. */
export type SwitchAction =
  /** Enqueue `byte` to the current client. */
  | { readonly kind: "forward"; readonly byte: number }
  /** Enqueue `byte` to every client (legacy `@m` mode). */
  | { readonly kind: "broadcast"; readonly byte: number }
  /** The byte is part of a switch sequence and goes nowhere (§10 R6). */
  | { readonly kind: "consume" }
  /** The byte ended a sequence as invalid and goes nowhere (§10 R6). */
  | { readonly kind: "invalid"; readonly reason: string }
  /** The byte is ordinary input but no client is selected (legacy scheme after `@m` then a bad `@x`). */
  | { readonly kind: "unrouted"; readonly byte: number }
  /** A valid sequence ended: input now goes to 0-based client `client`. */
  | { readonly kind: "switch"; readonly client: number };

/** The kinds of `SwitchAction`. */
export type SwitchActionKind = SwitchAction["kind"];

export type SwitchMode = "normal" | "switched" | "number" | "escaped";

/** `MAX_CLI_BASE_10`: at most four digits (§6.1). */
export const MAX_CLIENT_DIGITS = 4;

const LEGACY_SWITCH = 0x40; // '@'
const LEGACY_ESCAPE = 0x5c; // '\'
const LEGACY_BROADCAST = 0x6d; // 'm'

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export interface SwitchMachineOptions {
  readonly scheme: SwitchScheme;
  readonly numClients: number;
  readonly switchChar: number;
  readonly terminateNumChar: number;
}

export class SwitchMachine {
  private modeValue: SwitchMode = "normal";
  private digits: number[] = [];
  /** 0-based selected client; -1 = none (legacy only). */
  private current: number;
  private broadcastOn = false;
  private reason = "";

  constructor(private readonly options: SwitchMachineOptions) {
    // sDDF starts at client 0; the legacy mux started at client 1 = index 0 (§6.3).
    this.current = 0;
  }

  get mode(): SwitchMode {
    return this.modeValue;
  }
  /** The 0-based client receiving ordinary input, or -1 when none is. */
  get currentClient(): number {
    return this.current;
  }
  /** Legacy `@m` broadcast mode. */
  get broadcasting(): boolean {
    return this.broadcastOn;
  }
  /** A sequence has been started and not finished (§10 R7). */
  get midSequence(): boolean {
    return this.modeValue !== "normal";
  }

  /** `reset_state()`: clear the digits, back to normal; the client is unchanged. */
  private reset(): void {
    this.modeValue = "normal";
    this.digits = [];
  }

  /** The action for input byte `c` (§6.2 or §6.3), advancing the state. */
  step(c: number): SwitchAction {
    const kind = this.stepKind(c);
    switch (kind) {
      case "forward":
      case "broadcast":
      case "unrouted":
        return { kind, byte: c };
      case "consume":
        return { kind };
      case "invalid":
        return { kind, reason: this.reason };
      case "switch":
        return { kind, client: this.current };
    }
  }

  /**
   * `step` without building the action, for the per-byte path: the byte of `forward`,
   * `broadcast` and `unrouted` is `c` itself; a `switch`'s client is `currentClient`
   * (-1 for legacy broadcast) and an `invalid`'s reason is `lastReason`.
   */
  stepKind(c: number): SwitchActionKind {
    return this.options.scheme === "sddf" ? this.stepSddf(c) : this.stepLegacy(c);
  }

  /** Why the last `invalid` ended its sequence. */
  get lastReason(): string {
    return this.reason;
  }

  /** Record an invalid ending and its reason. */
  private invalid(reason: string): "invalid" {
    this.reason = reason;
    return "invalid";
  }

  private stepSddf(c: number): SwitchActionKind {
    const { switchChar, terminateNumChar, numClients } = this.options;
    switch (this.modeValue) {
      case "normal":
        if (c === switchChar) {
          this.modeValue = "switched";
          return "consume";
        }
        return "forward";
      case "switched":
        if (isDigit(c)) {
          this.digits = [c];
          this.modeValue = "number";
          return "consume";
        }
        this.reset();
        if (c === switchChar) return "forward";
        return this.invalid("invalid digit");
      case "number": {
        if (c === terminateNumChar) {
          const n = Number.parseInt(String.fromCharCode(...this.digits), 10);
          this.reset();
          if (n >= 0 && n < numClients) {
            this.current = n;
            return "switch";
          }
          return this.invalid(`invalid client ${n}`);
        }
        if (isDigit(c) && this.digits.length < MAX_CLIENT_DIGITS) {
          this.digits.push(c);
          return "consume";
        }
        this.reset();
        return this.invalid("too many or invalid digit");
      }
      default:
        // "escaped" does not occur in this scheme.
        this.reset();
        return "forward";
    }
  }

  private route(): SwitchActionKind {
    if (this.broadcastOn) return "broadcast";
    if (this.current < 0) return "unrouted";
    return "forward";
  }

  private stepLegacy(c: number): SwitchActionKind {
    switch (this.modeValue) {
      case "escaped":
        this.modeValue = "normal";
        return this.route();
      case "switched": {
        this.modeValue = "normal";
        if (c === LEGACY_BROADCAST) {
          this.broadcastOn = true;
          this.current = -1;
          return "switch";
        }
        // The old mux turned broadcast off before validating the digit, so "@m" then a
        // bad "@x" leaves no client selected.
        this.broadcastOn = false;
        const n = isDigit(c) ? c - 0x30 : 0;
        if (n < 1 || n > this.options.numClients) {
          return this.invalid("attempted to switch to invalid client number");
        }
        this.current = n - 1;
        return "switch";
      }
      default:
        if (c === LEGACY_ESCAPE) {
          this.modeValue = "escaped";
          return "consume";
        }
        if (c === LEGACY_SWITCH) {
          this.modeValue = "switched";
          return "consume";
        }
        return this.route();
    }
  }
}
