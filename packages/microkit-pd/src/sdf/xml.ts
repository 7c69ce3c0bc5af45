/**
 * XML to a small positioned tree, with `saxes` doing the parsing. The tool reads SDFs with
 * `roxmltree` and reports the 1-based row and column of a node's start (the `<` of an
 * element, the first character of a text run), counting characters (§1.1).
 */
import { SaxesParser } from "saxes";
import { SdfError } from "./errors.js";
import type { SourceLocation } from "./types.js";

export interface XmlAttribute {
  readonly name: string;
  readonly value: string;
}

export interface XmlElement {
  readonly kind: "element";
  readonly name: string;
  /** In document order. */
  readonly attributes: readonly XmlAttribute[];
  readonly children: readonly XmlNode[];
  readonly location: SourceLocation;
}

export interface XmlText {
  readonly kind: "text";
  readonly text: string;
  readonly location: SourceLocation;
}

/** A comment or processing instruction: kept only so sibling order matches the tool's tree. */
export interface XmlMarkup {
  readonly kind: "markup";
  readonly location: SourceLocation;
}

export type XmlNode = XmlElement | XmlText | XmlMarkup;

interface MutableElement {
  kind: "element";
  name: string;
  attributes: XmlAttribute[];
  children: XmlNode[];
  location: SourceLocation;
}

/**
 * Maps UTF-16 offsets to 1-based (line, column in code points). Each lookup is two binary
 * searches: a scan from the line start would make a long one-line file quadratic (every
 * element on a 10 MB line would rescan it).
 */
class LineIndex {
  private readonly lineStarts: number[] = [0];
  /** Offsets of low surrogates: the second half of a pair does not start a character. */
  private readonly lowSurrogates: number[] = [];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.lineStarts.push(i + 1);
      else if (c >= 0xdc00 && c <= 0xdfff) this.lowSurrogates.push(i);
    }
  }

  locate(file: string, offset: number): SourceLocation {
    const line = countAtMost(this.lineStarts, offset) - 1;
    const start = this.lineStarts[line] as number;
    const paired =
      countAtMost(this.lowSurrogates, offset - 1) - countAtMost(this.lowSurrogates, start - 1);
    return { file, line: line + 1, column: offset - start - paired + 1 };
  }
}

/** How many entries of the ascending `sorted` are `<= value`. */
function countAtMost(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Parses `text` and returns its root element. A malformed document throws
 * `Could not parse '<file>': <reason>` (code `xml-malformed`).
 */
export function parseXml(text: string, file: string): XmlElement {
  const lines = new LineIndex(text);
  const parser = new SaxesParser({ position: true });
  const stack: MutableElement[] = [];
  let root: MutableElement | undefined;
  let markupEnd = 0;
  let failure: Error | undefined;

  parser.on("error", (err) => {
    failure ??= err;
  });
  parser.on("opentag", (tag) => {
    // saxes reports the position after `>`; the element starts at the last `<name` before it.
    const start = text.lastIndexOf(`<${tag.name}`, parser.position - 1);
    const element: MutableElement = {
      kind: "element",
      name: tag.name,
      // Namespace declarations are not attributes to roxmltree, so not to the tool either.
      attributes: Object.entries(tag.attributes)
        .filter(([name]) => name !== "xmlns" && !name.startsWith("xmlns:"))
        .map(([name, value]) => ({ name, value: String(value) })),
      children: [],
      location: lines.locate(file, Math.max(0, start)),
    };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root ??= element;
    if (!tag.isSelfClosing) stack.push(element);
    markupEnd = parser.position;
  });
  parser.on("closetag", (tag) => {
    if (!tag.isSelfClosing) stack.pop();
    markupEnd = parser.position;
  });
  // saxes reports comments and CDATA one character before their closing `>`; find the end.
  const endOf = (terminator: string): number => {
    const at = text.indexOf(terminator, Math.max(0, parser.position - terminator.length));
    return at < 0 ? parser.position : at + terminator.length;
  };
  // Adjacent text and CDATA form one text node, as in roxmltree.
  const addText = (value: string): void => {
    const parent = stack[stack.length - 1];
    if (parent === undefined) return;
    const last = parent.children[parent.children.length - 1];
    if (last?.kind === "text") {
      parent.children[parent.children.length - 1] = { ...last, text: last.text + value };
    } else {
      parent.children.push({ kind: "text", text: value, location: lines.locate(file, markupEnd) });
    }
  };
  parser.on("text", addText);
  parser.on("cdata", (value) => {
    addText(value);
    markupEnd = endOf("]]>");
  });
  const markup = (end: number): void => {
    stack[stack.length - 1]?.children.push({
      kind: "markup",
      location: lines.locate(file, markupEnd),
    });
    markupEnd = end;
  };
  parser.on("comment", () => markup(endOf("-->")));
  parser.on("processinginstruction", () => markup(endOf("?>")));
  for (const event of ["doctype", "xmldecl"] as const) {
    parser.on(event, () => {
      markupEnd = parser.position;
    });
  }

  try {
    parser.write(text).close();
  } catch (err) {
    failure ??= err instanceof Error ? err : new Error(String(err));
  }
  if (failure !== undefined || root === undefined) {
    const reason = failure?.message ?? "no root element";
    throw new SdfError({
      code: "xml-malformed",
      rule: "xml",
      message: `Could not parse '${file}': ${reason}`,
      file,
    });
  }
  return root;
}

/** Element children only, as the tool iterates them (comments and text skipped). */
export function elementChildren(node: XmlElement): XmlElement[] {
  return node.children.filter((c): c is XmlElement => c.kind === "element");
}

/** The value of an attribute, or `undefined`. */
export function attr(node: XmlElement, name: string): string | undefined {
  for (const a of node.attributes) if (a.name === name) return a.value;
  return undefined;
}
