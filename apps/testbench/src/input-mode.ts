/** How a guest's typed input is replayed and echoed (DESIGN.md "Guests"; issue 13 item 1). */
import type { Asciicast } from "./asciicast.js";

/** `echo`: the guest echoes what it is typed; `record`: it only records it; `trace`: see {@link inputMode}. */
export type GuestInput = "echo" | "record" | "trace";

/**
 * A guest's input mode: the scenario's, else `trace` when the trace holds `"i"` events (that
 * guest's recorded typing, replayed by the keyboard; the recording already holds the tty's
 * echo, so nothing more is echoed) and the scenario types nothing by hand (a scenario with its
 * own `keyboard` asks for `trace` per guest), else the kind's default (`echo` for Linux,
 * `record` for a client PD).
 */
export function inputMode(
  kind: "sddf-client" | "vm",
  given: GuestInput | undefined,
  trace: Asciicast,
  handTyped: boolean,
): GuestInput {
  if (given !== undefined) return given;
  if (!handTyped && trace.events.some((e) => e.code === "i")) return "trace";
  return kind === "vm" ? "echo" : "record";
}

/** The guest echoes typed bytes itself (never under `trace`: the recording holds the echo). */
export function echoes(input: GuestInput): boolean {
  return input === "echo";
}

/**
 * The keyboard types the trace's `"i"` events to the guest: under `trace`, and under any mode
 * when the scenario types nothing by hand (so `echo` forced on a recording that holds its
 * echo shows every typed byte twice, which the fidelity oracle reports).
 */
export function replaysTrace(trace: Asciicast, input: GuestInput, handTyped: boolean): boolean {
  return (input === "trace" || !handTyped) && trace.events.some((e) => e.code === "i");
}
