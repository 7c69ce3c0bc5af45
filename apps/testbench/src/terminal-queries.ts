/**
 * Terminal queries in replayed guest output. A recorded guest asks its terminal questions
 * (cursor position `ESC[6n`, device attributes `ESC[c`, OSC colour queries `ESC]11;?BEL`,
 * ...); replayed to the user's own terminal, each one is answered into the shell that runs
 * `vmmux` after it exits (issue 9: `;21R;21R` and a syntax error on the next Enter). Modes
 * that make the terminal report on its own (mouse, focus, in-band resize) do the same.
 *
 * `TerminalQueryFilter` is a streaming sink: text goes in in any chunks (a sequence may be
 * split across them), text comes out with each query shown as visible text (`show`),
 * removed (`drop`) or left alone (`raw`); every query is counted by its visible form.
 * Sequence syntax follows ECMA-48 (CSI, OSC, DCS, ST) as xterm parses it.
 */

export type QueryMode = "show" | "drop" | "raw";

export const QUERY_MODES: readonly QueryMode[] = ["show", "drop", "raw"];

const ESC = "\x1b";
const BEL = "\x07";
const ENQ = "\x05";
/** 8-bit forms: CSI, OSC, DCS, ST, and SOS/PM/APC (strings to pass over). */
const C1_CSI = "\x9b";
const C1_OSC = "\x9d";
const C1_DCS = "\x90";
const C1_ST = "\x9c";
const C1_STRINGS = new Set(["\x98", "\x9e", "\x9f"]);

/** A control sequence longer than this is not a query: it is passed on as it comes. */
const MAX_CSI = 256;
/** A string (OSC, DCS, ...) longer than this is not a query (queries are a few bytes). */
const MAX_STRING = 4096;

/**
 * Private modes (DECSET `CSI ? Pm h`) after which the terminal sends reports by itself:
 * X10 and X11 mouse tracking and their encodings, focus events, colour-scheme updates,
 * in-band resize.
 */
const REPORTING_MODES = new Set([
  "9",
  "1000",
  "1001",
  "1002",
  "1003",
  "1004",
  "1005",
  "1006",
  "1015",
  "1016",
  "2031",
  "2048",
]);

/** Window-manipulation reports (`CSI Ps t`, xterm's XTWINOPS with Ps 11, 13–21). */
const WINDOW_REPORTS = new Set(["11", "13", "14", "15", "16", "18", "19", "20", "21"]);

/** Control characters in caret notation (`ESC` is `^[`), C1 as `\x9b`: safe to print. */
export function visibleControls(text: string, keepNewlines = false): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    const code = c.charCodeAt(0);
    if (keepNewlines && c === "\n") return c;
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    if (code === 0x7f) return "^?";
    return `\\x${code.toString(16)}`;
  });
}

/** Classify a complete CSI sequence (`ESC [` or 8-bit CSI, then the rest). */
function csiQuery(body: string): { readonly query: boolean; readonly keep?: string } {
  const final = body.at(-1)!;
  const match = /^([<=>?]?)([0-9:;]*)([ -/]*)$/.exec(body.slice(0, -1));
  if (match === null) return { query: false };
  const [, prefix, params, inter] = match as unknown as [string, string, string, string];
  const first = params.split(";")[0] ?? "";
  if (inter === "") {
    if (final === "n" && (prefix === "" || prefix === "?")) return { query: true }; // DSR
    if (final === "c" && prefix !== "?" && prefix !== "<") return { query: true }; // DA1/2/3
    if (final === "q" && prefix === ">") return { query: true }; // XTVERSION
    if (final === "t" && prefix === "" && WINDOW_REPORTS.has(first)) return { query: true };
    if (final === "x" && prefix === "" && (first === "" || first === "0" || first === "1")) {
      return { query: true }; // DECREQTPARM
    }
    if (final === "u" && prefix === "?") return { query: true }; // keyboard protocol query
    if ((final === "m" || final === "S") && prefix === "?") return { query: true }; // XTQMODKEYS, XTSMGRAPHICS
    if (final === "h" && prefix === "?") {
      const modes = params.split(";");
      const kept = modes.filter((m) => !REPORTING_MODES.has(m));
      if (kept.length === modes.length) return { query: false };
      return kept.length === 0 ? { query: true } : { query: true, keep: `?${kept.join(";")}h` };
    }
  }
  if (final === "p" && inter === "$") return { query: true }; // DECRQM
  if (final === "y" && inter === "*") return { query: true }; // DECRQCRA
  return { query: false };
}

function oscQuery(body: string): boolean {
  return body.split(";").slice(1).includes("?");
}

function dcsQuery(body: string): boolean {
  return body.startsWith("$q") || body.startsWith("+q");
}

type State =
  | "ground"
  | "esc"
  | "csi"
  | "string"
  | "string-esc"
  /** An over-long string, passed on until its terminator. */
  | "pass"
  | "pass-esc";

export class TerminalQueryFilter {
  readonly #mode: QueryMode;
  #state: State = "ground";
  /** The sequence being read: its introducer included. */
  #seq = "";
  /** `osc`, `dcs` or `other` while in a string. */
  #stringKind: "osc" | "dcs" | "other" = "other";
  readonly #counts = new Map<string, number>();

  constructor(mode: QueryMode) {
    this.#mode = mode;
  }

  /** Queries met so far, by visible form (`^[[6n`), in first-seen order. */
  get counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }

  get total(): number {
    let n = 0;
    for (const c of this.#counts.values()) n += c;
    return n;
  }

  /** Filter one chunk; returns what to write now (an unfinished sequence waits for more). */
  write(text: string): string {
    let out = "";
    let i = 0;
    while (i < text.length) {
      if (this.#state === "ground") {
        // Plain text up to the next byte that can start a sequence is passed in one slice.
        let j = i;
        while (j < text.length && !isIntroducer(text.charCodeAt(j))) j++;
        out += text.slice(i, j);
        if (j === text.length) break;
        i = j;
      }
      out += this.#step(text[i]!);
      i++;
    }
    return out;
  }

  /** End of output: an unfinished sequence is passed on as it was. */
  end(): string {
    const rest =
      this.#state === "pass-esc" || this.#state === "string-esc" ? this.#seq + ESC : this.#seq;
    this.#seq = "";
    this.#state = "ground";
    return rest;
  }

  #step(c: string): string {
    switch (this.#state) {
      case "ground":
        if (c === ESC) return this.#begin("esc", c);
        if (c === C1_CSI) return this.#begin("csi", c);
        if (c === C1_OSC) return this.#beginString("osc", c);
        if (c === C1_DCS) return this.#beginString("dcs", c);
        if (C1_STRINGS.has(c)) return this.#beginString("other", c);
        if (c === ENQ) return this.#query(c); // answerback
        return c;
      case "esc":
        if (c === "[") return this.#begin("csi", this.#seq + c);
        if (c === "]") return this.#beginString("osc", this.#seq + c);
        if (c === "P") return this.#beginString("dcs", this.#seq + c);
        if (c === "X" || c === "^" || c === "_") return this.#beginString("other", this.#seq + c);
        if (c === "Z" && this.#seq === ESC) return this.#finish(this.#seq + c, true); // DECID
        if (c >= " " && c <= "/" && this.#seq.length < MAX_CSI) {
          this.#seq += c;
          return "";
        }
        if (c >= "0" && c <= "~") return this.#finish(this.#seq + c, false);
        return this.#abort(c);
      case "csi": {
        if (c >= "@" && c <= "~") {
          const seq = this.#seq + c;
          const body = seq.slice(seq.startsWith(ESC) ? 2 : 1);
          const { query, keep } = csiQuery(body);
          if (keep !== undefined) {
            const prefix = seq.slice(0, seq.length - body.length);
            return prefix + keep + this.#finish(seq, true);
          }
          return this.#finish(seq, query);
        }
        if (c >= " " && c <= "?" && this.#seq.length < MAX_CSI) {
          this.#seq += c;
          return "";
        }
        return this.#abort(c);
      }
      case "string":
        if (c === BEL || c === C1_ST) return this.#finishString(this.#seq + c);
        if (c === ESC) {
          this.#state = "string-esc";
          return "";
        }
        if (this.#seq.length >= MAX_STRING) {
          const passed = this.#seq + c;
          this.#seq = "";
          this.#state = "pass";
          return passed;
        }
        this.#seq += c;
        return "";
      case "string-esc":
        if (c === "\\") return this.#finishString(`${this.#seq}${ESC}\\`);
        // ESC then anything else ends the string unfinished and starts a new sequence.
        return this.#restartAfterEsc(this.#seq, c);
      case "pass":
        if (c === BEL || c === C1_ST) {
          this.#state = "ground";
          return c;
        }
        if (c === ESC) {
          this.#state = "pass-esc";
          return "";
        }
        return c;
      case "pass-esc":
        if (c === "\\") {
          this.#state = "ground";
          return `${ESC}\\`;
        }
        return this.#restartAfterEsc("", c);
    }
  }

  #begin(state: "esc" | "csi", seq: string): string {
    this.#state = state;
    this.#seq = seq;
    return "";
  }

  #beginString(kind: "osc" | "dcs" | "other", seq: string): string {
    this.#stringKind = kind;
    this.#state = "string";
    this.#seq = seq;
    return "";
  }

  #restartAfterEsc(before: string, c: string): string {
    this.#state = "esc";
    this.#seq = ESC;
    return before + this.#step(c);
  }

  #finishString(seq: string): string {
    const introducer = seq.startsWith(ESC) ? 2 : 1;
    const terminator = seq.endsWith(`${ESC}\\`) ? 2 : 1;
    const body = seq.slice(introducer, seq.length - terminator);
    const query =
      this.#stringKind === "osc" ? oscQuery(body) : this.#stringKind === "dcs" && dcsQuery(body);
    return this.#finish(seq, query);
  }

  /** A C0 control inside an escape or control sequence: the sequence is given up. */
  #abort(c: string): string {
    const seq = this.#seq;
    this.#seq = "";
    this.#state = "ground";
    return seq + this.#step(c);
  }

  #finish(seq: string, query: boolean): string {
    this.#seq = "";
    this.#state = "ground";
    return query ? this.#query(seq) : seq;
  }

  #query(seq: string): string {
    const visible = visibleControls(seq);
    this.#counts.set(visible, (this.#counts.get(visible) ?? 0) + 1);
    if (this.#mode === "raw") return seq;
    return this.#mode === "show" ? visible : "";
  }
}

function isIntroducer(code: number): boolean {
  return code === 0x1b || code === 0x05 || (code >= 0x90 && code <= 0x9f);
}

/** One line for the user: how many queries were held back, of which kinds, and the flag. */
export function querySummary(filter: TerminalQueryFilter, mode: QueryMode): string | undefined {
  if (mode === "raw" || filter.total === 0) return undefined;
  const kinds = [...filter.counts]
    .slice(0, 6)
    .map(([form, n]) => (n === 1 ? form : `${form} x${n}`))
    .join(", ");
  const more = filter.counts.size > 6 ? ", ..." : "";
  const what = mode === "drop" ? "left out" : "shown as text";
  return `${filter.total} terminal ${filter.total === 1 ? "query" : "queries"} in the guests' output ${what} so your terminal does not answer into your shell (${kinds}${more}); --queries raw keeps them`;
}

/**
 * The muxed terminal as a sink for wire bytes (`RunOptions.onWire`): bytes are decoded as
 * UTF-8 across chunk boundaries, passed through a query filter (which in `raw` mode only
 * counts), and written in chunks, so the terminal appears as the run produces it.
 */
export class TerminalSink {
  readonly filter: TerminalQueryFilter;
  readonly #write: (text: string) => void;
  readonly #decoder = new TextDecoder();
  readonly #bytes = new Uint8Array(4096);
  #length = 0;

  constructor(write: (text: string) => void, mode: QueryMode) {
    this.#write = write;
    this.filter = new TerminalQueryFilter(mode);
  }

  byte(value: number): void {
    this.#bytes[this.#length++] = value;
    if (this.#length === this.#bytes.length) this.flush();
  }

  /** Write what has been collected (an unfinished UTF-8 character or query waits). */
  flush(): void {
    if (this.#length === 0) return;
    const text = this.#decoder.decode(this.#bytes.subarray(0, this.#length), { stream: true });
    this.#length = 0;
    this.#emit(text);
  }

  /** End of the wire: write the rest, unfinished sequences included. */
  end(): void {
    const text = this.#decoder.decode(this.#bytes.subarray(0, this.#length));
    this.#length = 0;
    this.#emit(text);
    const rest = this.filter.end();
    if (rest !== "") this.#write(rest);
  }

  #emit(text: string): void {
    const out = this.filter.write(text);
    if (out !== "") this.#write(out);
  }
}
