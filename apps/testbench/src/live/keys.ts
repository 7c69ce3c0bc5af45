/**
 * The host-side escape of `vmmux live`: every byte the user types goes to the UART except
 * after `Ctrl+]` (0x1D), which introduces a command for vmmux itself, the way a serial
 * terminal program keeps its own keys apart from the line. Ctrl+\ (0x1C) is the RX
 * virtualiser's switch character (sddf-serial §6.2) and must reach the wire, so the escape
 * cannot be it.
 *
 * `Ctrl+] q` quits, `Ctrl+] ?` (or `h`) prints the help line, `Ctrl+] Ctrl+]` types one
 * `Ctrl+]`; after `Ctrl+]` any other byte is typed together with the `Ctrl+]`, so nothing the
 * user types is lost. The state survives chunk boundaries: a terminal may deliver the two
 * keys in separate reads.
 */

/** `Ctrl+]`. */
export const HOST_ESCAPE = 0x1d;

export type HostAction =
  | { readonly kind: "type"; readonly bytes: Uint8Array }
  | { readonly kind: "quit" }
  | { readonly kind: "help" };

const QUIT = new Set([0x71, 0x51]); // q Q
const HELP = new Set([0x3f, 0x68, 0x48]); // ? h H

export class HostEscape {
  private pending = false;
  private stopped = false;

  /** Split one chunk of typed bytes into bytes for the UART and host commands, in order. */
  feed(chunk: ArrayLike<number>): HostAction[] {
    const actions: HostAction[] = [];
    let typed: number[] = [];
    const flush = () => {
      if (typed.length > 0) actions.push({ kind: "type", bytes: Uint8Array.from(typed) });
      typed = [];
    };
    for (let i = 0; i < chunk.length && !this.stopped; i++) {
      const byte = chunk[i]! & 0xff;
      if (!this.pending) {
        if (byte === HOST_ESCAPE) this.pending = true;
        else typed.push(byte);
        continue;
      }
      this.pending = false;
      if (QUIT.has(byte)) {
        flush();
        actions.push({ kind: "quit" });
        this.stopped = true;
      } else if (HELP.has(byte)) {
        flush();
        actions.push({ kind: "help" });
      } else if (byte === HOST_ESCAPE) {
        typed.push(HOST_ESCAPE);
      } else {
        typed.push(HOST_ESCAPE, byte);
      }
    }
    flush();
    return actions;
  }

  /** End of input: a lone trailing `Ctrl+]` is typed rather than dropped. */
  end(): HostAction[] {
    if (!this.pending || this.stopped) return [];
    this.pending = false;
    return [{ kind: "type", bytes: Uint8Array.of(HOST_ESCAPE) }];
  }
}

/** The bytes to feed {@link HostEscape} so that it types exactly `bytes` (each `Ctrl+]` doubled). */
export function escapeHostKeys(bytes: ArrayLike<number>): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]! & 0xff;
    out.push(byte);
    if (byte === HOST_ESCAPE) out.push(HOST_ESCAPE);
  }
  return Uint8Array.from(out);
}
