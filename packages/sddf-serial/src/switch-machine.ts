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

  step(c: number): SwitchAction {
    return this.options.scheme === "sddf" ? this.stepSddf(c) : this.stepLegacy(c);
  }

  private stepSddf(c: number): SwitchAction {
    const { switchChar, terminateNumChar, numClients } = this.options;
    switch (this.modeValue) {
      case "normal":
        if (c === switchChar) {
          this.modeValue = "switched";
          return { kind: "consume" };
        }
        return { kind: "forward", byte: c };
      case "switched":
        if (isDigit(c)) {
          this.digits = [c];
          this.modeValue = "number";
          return { kind: "consume" };
        }
        this.reset();
        if (c === switchChar) return { kind: "forward", byte: c };
        return { kind: "invalid", reason: "invalid digit" };
      case "number": {
        if (c === terminateNumChar) {
          const n = Number.parseInt(String.fromCharCode(...this.digits), 10);
          this.reset();
          if (n >= 0 && n < numClients) {
            this.current = n;
            return { kind: "switch", client: n };
          }
          return { kind: "invalid", reason: `invalid client ${n}` };
        }
        if (isDigit(c) && this.digits.length < MAX_CLIENT_DIGITS) {
          this.digits.push(c);
          return { kind: "consume" };
        }
        this.reset();
        return { kind: "invalid", reason: "too many or invalid digit" };
      }
      default:
        // "escaped" does not occur in this scheme.
        this.reset();
        return { kind: "forward", byte: c };
    }
  }

  private route(c: number): SwitchAction {
    if (this.broadcastOn) return { kind: "broadcast", byte: c };
    if (this.current < 0) return { kind: "unrouted", byte: c };
    return { kind: "forward", byte: c };
  }

  private stepLegacy(c: number): SwitchAction {
    switch (this.modeValue) {
      case "escaped":
        this.modeValue = "normal";
        return this.route(c);
      case "switched": {
        this.modeValue = "normal";
        if (c === LEGACY_BROADCAST) {
          this.broadcastOn = true;
          this.current = -1;
          return { kind: "switch", client: -1 };
        }
        // The old mux turned broadcast off before validating the digit, so "@m" then a
        // bad "@x" leaves no client selected.
        this.broadcastOn = false;
        const n = isDigit(c) ? c - 0x30 : 0;
        if (n < 1 || n > this.options.numClients) {
          return { kind: "invalid", reason: "attempted to switch to invalid client number" };
        }
        this.current = n - 1;
        return { kind: "switch", client: n - 1 };
      }
      default:
        if (c === LEGACY_ESCAPE) {
          this.modeValue = "escaped";
          return { kind: "consume" };
        }
        if (c === LEGACY_SWITCH) {
          this.modeValue = "switched";
          return { kind: "consume" };
        }
        return this.route(c);
    }
  }
}
