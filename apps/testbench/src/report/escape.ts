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
