/**
 * XML to a small positioned tree, with `saxes` doing the parsing. The tool reads SDFs with
 * `roxmltree` and reports the 1-based row and column of a node's start (the `<` of an
 * element, the first character of a text run), counting characters (§1.1).
 */
import { SaxesParser } from "saxes";
import { formatLocation, SdfError } from "./errors.js";
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
  /** Built on the first lookup: input rejected before any node is located pays nothing. */
  private built = false;

  constructor(private readonly text: string) {}

  private build(): void {
    const text = this.text;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.lineStarts.push(i + 1);
      else if (c >= 0xdc00 && c <= 0xdfff) this.lowSurrogates.push(i);
    }
    this.built = true;
  }

  locate(file: string, offset: number): SourceLocation {
    if (!this.built) this.build();
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
 * `Could not parse '<file>': <reason>` (code `xml-malformed`) at its first error; text longer
 * than `MAX_SYSTEM_FILE_CHARS` or elements nested deeper than `MAX_XML_DEPTH` fail too.
 */
export function parseXml(text: string, file: string): XmlElement {
  const lines = new LineIndex(text);
  if (text.length > MAX_SYSTEM_FILE_CHARS)
    throw tooLarge(file, lines.locate(file, MAX_SYSTEM_FILE_CHARS));
  const parser = new SaxesParser({ position: true });
  const stack: MutableElement[] = [];
  let root: MutableElement | undefined;
  let markupEnd = 0;
  let failure: Error | undefined;

  // saxes reports an error and carries on; garbage then yields one error per character
  // (minutes and gigabytes for 50 MB). The first error is the one reported, so stop there.
  parser.on("error", (err) => {
    failure ??= err;
    throw err;
  });
  const { count, mark, feed } = nodeCounter(parser, file);
  parser.on("opentag", (tag) => {
    count();
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
    if (stack.length >= MAX_XML_DEPTH) throw tooDeep(file, element.location);
    if (!tag.isSelfClosing) stack.push(element);
    markupEnd = parser.position;
  });
  parser.on("closetag", (tag) => {
    mark();
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
  parser.on("text", (value) => {
    count();
    addText(value);
  });
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
  parser.on("comment", () => {
    count();
    markup(endOf("-->"));
  });
  parser.on("processinginstruction", () => {
    count();
    markup(endOf("?>"));
  });
  for (const event of ["doctype", "xmldecl"] as const) {
    parser.on(event, () => {
      markupEnd = parser.position;
    });
  }

  try {
    feed(text);
    parser.close();
  } catch (err) {
    if (err instanceof SdfError) throw err;
    failure ??= err instanceof Error ? err : new Error(String(err));
  }
  if (failure !== undefined || root === undefined) {
    const at = { file, line: parser.line, column: parser.column };
    throw malformed(file, failure?.message ?? "no root element", at);
  }
  return root;
}

/**
 * Feeds `chunks` to a bare saxes parser and throws the first well-formedness error, the same
 * `xml-malformed` error `parseXml` would throw, or `file-too-large` once `overLimit` says so
 * (default: more than `MAX_SYSTEM_FILE_CHARS` characters). Nothing is kept, so a huge garbage file is rejected after
 * reading only as far as its first error.
 */
export function scanXml(
  chunks: Iterable<string>,
  file: string,
  overLimit: (chars: number) => boolean = (chars) => chars > MAX_SYSTEM_FILE_CHARS,
): void {
  const parser = new SaxesParser({ position: true });
  let failure: Error | undefined;
  parser.on("error", (err) => {
    failure = err;
    throw err;
  });
  const { count, mark, feed } = nodeCounter(parser, file);
  for (const event of ["opentag", "text", "comment", "processinginstruction"] as const) {
    parser.on(event, count);
  }
  parser.on("closetag", mark);
  let length = 0;
  let tooBig = false;
  try {
    for (const chunk of chunks) {
      length += chunk.length;
      tooBig = overLimit(length);
      if (tooBig) break;
      feed(chunk);
    }
    if (!tooBig) parser.close();
  } catch (err) {
    if (failure === undefined) throw err;
  }
  const at = { file, line: parser.line, column: parser.column };
  if (failure !== undefined) throw malformed(file, failure.message, at);
  if (tooBig) throw tooLarge(file, at);
}

/**
 * Largest system file read, in characters (UTF-16 code units) or, from disk, bytes. Real
 * system files are kilobytes (sdfgen's largest examples well under 1 MiB); the bound keeps a
 * hostile or mistaken input from exhausting memory before its first error is found.
 */
export const MAX_SYSTEM_FILE_CHARS = 64 * 1024 * 1024;

/**
 * Deepest element nesting accepted. The tree is built without recursion, so this bounds
 * memory, not the stack; protection domains have their own, lower bound (`MAX_PD_NESTING`).
 */
export const MAX_XML_DEPTH = 65_536;

/**
 * Most XML nodes (elements, attributes, text runs, comments) a document may have. The largest
 * real system files have a few thousand; the bound keeps a file of millions of tiny elements
 * from building a tree of gigabytes before the walk rejects its first one.
 */
export const MAX_XML_NODES = 200_000;

/**
 * Counts the nodes saxes reports (attributes here; the caller calls `count` for elements, text
 * runs, comments and processing instructions) and throws `xml-too-many-nodes` past
 * `MAX_XML_NODES`, located where saxes stands, so the scan and the parse agree. `feed` writes
 * text to the parser so that no run without a node (one comment, text or tag) gets longer than
 * `MAX_XML_RUN`: saxes keeps such a run whole in memory until it ends.
 */
function nodeCounter(
  parser: SaxesParser,
  file: string,
): { count: () => void; mark: () => void; feed: (text: string) => void } {
  let nodes = 0;
  let runStart = { position: 0, line: 1, column: 0 };
  /** A node ended here: the next run starts after it. */
  const mark = (): void => {
    runStart = { position: parser.position, line: parser.line, column: parser.column };
  };
  const count = (): void => {
    if (++nodes > MAX_XML_NODES) {
      throw tooMany(file, { file, line: parser.line, column: parser.column });
    }
    mark();
  };
  parser.on("attribute", count);
  // Characters written so far (saxes's own `position` is only right inside its handlers).
  let fed = 0;
  const feed = (text: string): void => {
    // Written in pieces that end where the run would pass the bound, so the scan (many
    // chunks) and the parse (one string) stop at the same character with the same error.
    let at = 0;
    while (at < text.length) {
      const budget = runStart.position + MAX_XML_RUN + 1 - fed;
      if (budget <= 0) {
        throw runTooLong(file, { file, line: runStart.line, column: runStart.column });
      }
      const piece = Math.min(budget, text.length - at);
      parser.write(at === 0 && piece === text.length ? text : text.slice(at, at + piece));
      at += piece;
      fed += piece;
    }
  };
  return { count, mark, feed };
}

/** Longest comment, text run or tag (with its attributes) read whole, in characters. */
export const MAX_XML_RUN = 16 * 1024 * 1024;

function runTooLong(file: string, location: SourceLocation): SdfError {
  return new SdfError({
    code: "xml-run-too-long",
    rule: "xml",
    message: `Error: more than ${MAX_XML_RUN / 1024 / 1024} MiB of one comment, text or tag: ${formatLocation(location)}`,
    file,
    location,
  });
}

function tooMany(file: string, location: SourceLocation): SdfError {
  return new SdfError({
    code: "xml-too-many-nodes",
    rule: "xml",
    message: `Error: more than ${MAX_XML_NODES} XML elements, attributes, texts and comments: ${formatLocation(location)}`,
    file,
    location,
  });
}

/** `Could not parse '<file>': <saxes reason>`, located where saxes stopped (its line and column). */
export function malformed(file: string, reason: string, location: SourceLocation): SdfError {
  return new SdfError({
    code: "xml-malformed",
    rule: "xml",
    message: `Could not parse '${file}': ${reason}`,
    file,
    location,
  });
}

export function tooLarge(file: string, location: SourceLocation): SdfError {
  return new SdfError({
    code: "file-too-large",
    rule: "xml",
    message: `Error: system file is larger than ${MAX_SYSTEM_FILE_CHARS / 1024 / 1024} MiB, the most vmmux reads: ${formatLocation(location)}`,
    file,
    location,
  });
}

function tooDeep(file: string, location: SourceLocation): SdfError {
  return new SdfError({
    code: "xml-too-deep",
    rule: "xml",
    message: `Error: elements nested more than ${MAX_XML_DEPTH} deep: ${formatLocation(location)}`,
    file,
    location,
  });
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
