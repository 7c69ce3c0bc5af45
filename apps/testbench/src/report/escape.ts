/**
 * Escaping for the report. Everything a guest or a command printed is hostile: it may hold
 * `</script>`, `<`, `&`, quotes, control bytes and lone surrogates, and none of it may change
 * the page's structure or run as code.
 */

const HTML_SPECIAL: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Text for an HTML element or a quoted attribute. Control characters other than tab and
 * newline (C0, DEL, C1) are shown as `\xNN` so an escape sequence is visible, not swallowed.
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/[&<>"']/g, (c) => HTML_SPECIAL[c]!)
    .replace(
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
    )
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` are written as
 * `\u` escapes so no `</script>` or `<!--` can end or bend the element, and the line
 * separators and C1 controls too, so the text is plain ASCII-safe JavaScript as well.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Terminal output as plain text: CSI, OSC and other escape sequences removed, CR LF as LF. */
export function stripTerminalControls(text: string): string {
  return text
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?/g, "")
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, "")
    .replace(/\u001b[@-Z\\-_]/g, "")
    .replace(/\r+\n/g, "\n");
}

/**
 * One replacement pass of {@link stripTerminalControls}, fed in pieces: text outside a
 * sequence is copied in runs up to the next `trigger`, the rest is taken a character at a time.
 */
abstract class StripPass {
  constructor(private readonly trigger: string) {}

  /** No sequence is open: the next character is plain unless it is the trigger. */
  protected abstract idle(): boolean;

  /** Take one character; returns the output it makes final. */
  protected abstract char(c: string): string;

  /** The input has ended: the rest of the output. */
  abstract end(): string;

  /** The output that no later input can change. */
  push(text: string): string {
    const parts: string[] = [];
    let i = 0;
    while (i < text.length) {
      if (this.idle()) {
        const next = text.indexOf(this.trigger, i);
        const end = next < 0 ? text.length : next;
        if (end > i) parts.push(text.slice(i, end));
        if (next < 0) break;
        i = next;
      }
      parts.push(this.char(text[i]!));
      i++;
    }
    // Joined, so a long text is one flat string rather than a rope of its pieces.
    return parts.join("");
  }
}

const ESC = "\u001b";

/** `\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?` removed: an OSC runs to BEL, ST or the next ESC. */
class OscPass extends StripPass {
  private inOsc = false;
  private escPending = false;

  constructor() {
    super(ESC);
  }

  protected idle(): boolean {
    return !this.inOsc && !this.escPending;
  }

  protected char(c: string): string {
    if (this.inOsc) {
      if (this.escPending) {
        this.escPending = false;
        this.inOsc = false;
        if (c === "\\") return "";
        // The OSC ended before this ESC, which starts the search again.
        return this.outside(c);
      }
      if (c === "\u0007") this.inOsc = false;
      else if (c === ESC) this.escPending = true;
      return "";
    }
    if (this.escPending) {
      this.escPending = false;
      return this.outside(c);
    }
    if (c === ESC) {
      this.escPending = true;
      return "";
    }
    return c;
  }

  /** `c` follows an ESC outside an OSC. */
  private outside(c: string): string {
    if (c === "]") {
      this.inOsc = true;
      return "";
    }
    if (c === ESC) {
      this.escPending = true;
      return ESC;
    }
    return ESC + c;
  }

  end(): string {
    const rest = this.escPending ? ESC : "";
    this.escPending = false;
    this.inOsc = false;
    return rest;
  }
}

const inRange = (c: string, low: number, high: number) => {
  const code = c.charCodeAt(0);
  return code >= low && code <= high;
};

/** `\u001b\[[0-?]*[ -/]*[@-~]` removed: a CSI with its final byte. */
class CsiPass extends StripPass {
  /** The ESC, `[`, parameter and intermediate bytes of a CSI not yet ended; "" when none. */
  private pending = "";
  private intermediate = false;

  constructor() {
    super(ESC);
  }

  protected idle(): boolean {
    return this.pending === "";
  }

  protected char(c: string): string {
    const p = this.pending;
    if (p === "") {
      if (c !== ESC) return c;
      this.pending = ESC;
      return "";
    }
    if (p === ESC) {
      if (c === "[") {
        this.pending = `${ESC}[`;
        this.intermediate = false;
        return "";
      }
      if (c === ESC) return ESC;
      this.pending = "";
      return ESC + c;
    }
    if (!this.intermediate && inRange(c, 0x30, 0x3f)) {
      this.pending += c;
      return "";
    }
    if (inRange(c, 0x20, 0x2f)) {
      this.pending += c;
      this.intermediate = true;
      return "";
    }
    this.pending = "";
    if (inRange(c, 0x40, 0x7e)) return "";
    // No final byte: the bytes so far stay, and `c` starts the search again.
    return p + this.char(c);
  }

  end(): string {
    const rest = this.pending;
    this.pending = "";
    return rest;
  }
}

/** `\u001b[@-Z\\-_]` removed: a two-byte escape sequence. */
class EscPass extends StripPass {
  private escPending = false;

  constructor() {
    super(ESC);
  }

  protected idle(): boolean {
    return !this.escPending;
  }

  protected char(c: string): string {
    if (!this.escPending) {
      if (c !== ESC) return c;
      this.escPending = true;
      return "";
    }
    if (c === ESC) return ESC;
    this.escPending = false;
    if (inRange(c, 0x40, 0x5a) || inRange(c, 0x5c, 0x5f)) return "";
    return ESC + c;
  }

  end(): string {
    const rest = this.escPending ? ESC : "";
    this.escPending = false;
    return rest;
  }
}

/** `\r+\n` as `\n`. */
class CrLfPass extends StripPass {
  private returns = 0;

  constructor() {
    super("\r");
  }

  protected idle(): boolean {
    return this.returns === 0;
  }

  protected char(c: string): string {
    if (c === "\r") {
      this.returns++;
      return "";
    }
    const kept = c === "\n" ? "" : "\r".repeat(this.returns);
    this.returns = 0;
    return kept + c;
  }

  end(): string {
    const rest = "\r".repeat(this.returns);
    this.returns = 0;
    return rest;
  }
}

/**
 * {@link stripTerminalControls} over text that arrives in pieces: the concatenated outputs of
 * `push` and `end` are exactly `stripTerminalControls` of the concatenated inputs, however the
 * text is cut. Each of its four passes is run as a stream in the same order; what a pass holds
 * back is an unfinished sequence (at most one CSI's parameter bytes, or a count of CRs).
 */
export class TerminalControlStripper {
  private readonly passes: readonly StripPass[] = [
    new OscPass(),
    new CsiPass(),
    new EscPass(),
    new CrLfPass(),
  ];

  push(text: string): string {
    let out = text;
    for (const pass of this.passes) out = pass.push(out);
    return out;
  }

  end(): string {
    let out = "";
    for (const pass of this.passes) out = pass.push(out) + pass.end();
    return out;
  }
}
