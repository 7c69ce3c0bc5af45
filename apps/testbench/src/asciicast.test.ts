import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  AsciicastError,
  formatAsciicast,
  outputText,
  parseAsciicast,
  writeFileAtomic,
} from "./asciicast.js";

const tracesDir = fileURLToPath(new URL("../../../traces/recorded/", import.meta.url));
const header = '{"version":2,"width":80,"height":24}';

function errorOf(text: string): AsciicastError {
  try {
    parseAsciicast(text, "t.cast");
  } catch (error) {
    if (error instanceof AsciicastError) return error;
    throw error;
  }
  throw new Error("expected a parse error");
}

describe("parseAsciicast", () => {
  test("loads the bundled QEMU recordings as they are", async () => {
    for (const name of await readdir(tracesDir)) {
      const cast = parseAsciicast(await readFile(join(tracesDir, name), "utf8"), name);
      expect(cast.header.version).toBe(2);
      expect(outputText(cast)).toContain("Booting Linux on physical CPU");
      expect(cast.events.some((event) => event.code === "i")).toBe(true);
    }
  });

  test("reads output, input and marker events in order", () => {
    const cast = parseAsciicast(`${header}\n[0.5,"o","hi"]\n\n[1,"i","x"]\n[1,"m","boot"]\n`);
    expect(cast.events).toEqual([
      { time: 0.5, code: "o", data: "hi" },
      { time: 1, code: "i", data: "x" },
      { time: 1, code: "m", data: "boot" },
    ]);
  });

  test.each([
    ["", 1, "header"],
    ['{"version":1,"width":80,"height":24}', 1, "version"],
    ['{"version":2,"width":0,"height":24}', 1, "width"],
    [`${header}\n[1,"o"]`, 2, "event"],
    [`${header}\n[1,"o","a"]\n[0.5,"o","b"]`, 3, "time"],
    [`${header}\n[1,"x","a"]`, 2, "code"],
    [`${header}\n[1,"o",7]`, 2, "data"],
    [`${header}\n[1,"r","wide"]`, 2, "data"],
    [`${header}\nnot json`, 2, "event"],
  ])("rejects %j naming line %i and field %s", (text, line, field) => {
    const error = errorOf(text);
    expect(error.line).toBe(line);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(new RegExp(`^t\\.cast:${line}: ${field}: `));
  });

  test("format then parse gives the same recording", () => {
    const cast = parseAsciicast(`${header}\n[0.25,"o","a\\r\\n"]\n[2,"i","\\u001c"]\n`);
    expect(parseAsciicast(formatAsciicast(cast))).toEqual(cast);
  });
});

describe("writeFileAtomic", () => {
  test("replaces the file whole and leaves no temporary file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vmmux-atomic-"));
    const path = join(dir, "out.cast");
    await writeFileAtomic(path, "old");
    await writeFileAtomic(path, "new");
    expect(await readFile(path, "utf8")).toBe("new");
    expect(await readdir(dir)).toEqual(["out.cast"]);
  });
});

describe("asciicast v3", () => {
  const v3 = '{"version":3,"term":{"cols":100,"rows":30,"type":"xterm-256color"},"timestamp":7}';

  test("reads relative intervals, the term header, comments and the exit event", () => {
    const cast = parseAsciicast(
      `${v3}\n# comment\n[0.5,"o","hi"]\n[0.25,"i","x"]\n\n[0,"m","boot"]\n[1.125,"x","0"]\n`,
    );
    expect(cast.header).toEqual({
      version: 3,
      width: 100,
      height: 30,
      timestamp: 7,
      term: { type: "xterm-256color" },
    });
    expect(cast.events).toEqual([
      { time: 0.5, code: "o", data: "hi" },
      { time: 0.75, code: "i", data: "x" },
      { time: 0.75, code: "m", data: "boot" },
      { time: 1.875, code: "x", data: "0" },
    ]);
  });

  test.each([
    ['{"version":3,"width":80,"height":24}', 1, "term"],
    ['{"version":3,"term":{"cols":0,"rows":24}}', 1, "term.cols"],
    ['{"version":3,"term":{"cols":80,"rows":24,"type":7}}', 1, "term.type"],
    ['{"version":4,"term":{"cols":80,"rows":24}}', 1, "version"],
    ['{"version":3,"term":{"cols":80,"rows":24}}\n[-1,"o","a"]', 2, "time"],
    ['{"version":3,"term":{"cols":80,"rows":24}}\n# c\n[1,"q","a"]', 3, "code"],
    ['{"version":3,"term":{"cols":80,"rows":24}}\n[1,"r","wide"]', 2, "data"],
    ['{"version":3,"term":{"cols":80,"rows":24}}\n# c\nnot json', 3, "event"],
  ])("rejects v3 %j naming line %i and field %s", (text, line, field) => {
    const error = errorOf(text);
    expect([error.line, error.field]).toEqual([line, field]);
    expect(error.message).toMatch(new RegExp(`^t\\.cast:${line}: ${field.replace(".", "\\.")}: `));
  });

  test("the bundled recordings written as v3 read back as the same events", async () => {
    for (const name of await readdir(tracesDir)) {
      const v2 = parseAsciicast(await readFile(join(tracesDir, name), "utf8"), name);
      const text = formatAsciicast(v2, 3);
      expect(JSON.parse(text.slice(0, text.indexOf("\n")))).toMatchObject({
        version: 3,
        term: { cols: v2.header.width, rows: v2.header.height },
      });
      const back = parseAsciicast(text, name);
      expect(back.events).toEqual(
        v2.events.map((e) => ({ ...e, time: Number(e.time.toFixed(6)) })),
      );
      // And back to v2 with the same header size.
      expect(parseAsciicast(formatAsciicast(back, 2)).events).toEqual(back.events);
    }
  });

  test("v2 output leaves out exit events, which v2 has no code for", () => {
    const cast = parseAsciicast(`${v3}\n[1,"o","a"]\n[1,"x","0"]\n`);
    expect(formatAsciicast(cast, 2)).toBe(
      '{"version":2,"width":100,"height":30,"timestamp":7}\n[1,"o","a"]\n',
    );
  });
});
