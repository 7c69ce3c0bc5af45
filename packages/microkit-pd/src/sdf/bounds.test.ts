// Input bounds: a system file is untrusted input. Garbage fails at its first XML error without
// being read whole, input over the size bound and elements nested past the depth bound fail with
// their own located errors, and every error can be shown with a location (`locatedMessage`).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { locatedMessage, SdfError } from "./errors.js";
import { loadSystemFile } from "./load.js";
import { parseSystemDescription } from "./parse.js";
import {
  MAX_SYSTEM_FILE_CHARS,
  MAX_XML_DEPTH,
  MAX_XML_NODES,
  MAX_XML_RUN,
  scanXml,
} from "./xml.js";

const PD = '<protection_domain name="a"><program_image path="a.elf"/></protection_domain>';

function errorOf(run: () => unknown): SdfError {
  try {
    run();
  } catch (err) {
    if (err instanceof SdfError) return err;
    throw err;
  }
  throw new Error("expected an SdfError");
}

const dir = mkdtempSync(join(tmpdir(), "vmmux-sdf-bounds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("garbage fails at its first error", () => {
  it("stops pulling input at the first malformed chunk", () => {
    let pulled = 0;
    function* chunks(): Generator<string> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield i === 0 ? "<system>\u0001" : "\u0002".repeat(1024);
      }
    }
    const err = errorOf(() => scanXml(chunks(), "g.system"));
    expect(err.code).toBe("xml-malformed");
    expect(err.message).toBe("Could not parse 'g.system': 1:9: disallowed character.");
    expect(err.location).toEqual({ file: "g.system", line: 1, column: 9 });
    expect(pulled).toBe(1);
  });

  it("gives the same error and location from a string and from a file", () => {
    const text = `<system>${PD}\n  <memory_region name="m" size="0x1000"/>\u0007${"\u0003".repeat(100_000)}`;
    const path = join(dir, "garbage.system");
    writeFileSync(path, text);
    const fromString = errorOf(() => parseSystemDescription(text, { fileName: path }));
    const fromFile = errorOf(() => loadSystemFile(path));
    expect(fromFile.message).toBe(fromString.message);
    expect(fromFile.location).toEqual(fromString.location);
    expect(fromFile.location).toEqual({ file: path, line: 2, column: 42 });
  });

  it("rejects an endless device after reading its first chunk", () => {
    const err = errorOf(() => loadSystemFile("/dev/zero"));
    expect(err.code).toBe("xml-malformed");
    expect(err.location).toMatchObject({ line: 1, column: 1 });
  });

  it("reads a valid system from a pipe, which can be read only once", async () => {
    const fifo = join(dir, "pipe.system");
    if (spawnSync("mkfifo", [fifo]).status !== 0) return;
    const writer = spawn("sh", ["-c", `printf '%s' '<system>${PD}</system>' > ${fifo}`]);
    const exited = new Promise((done) => writer.on("exit", done));
    expect(loadSystemFile(fifo).system.protectionDomains[0]?.name).toBe("a");
    await exited;
  });

  it("reads a valid file the way it always did", () => {
    const path = join(dir, "ok.system");
    writeFileSync(path, `<system>\n  ${PD}\n</system>\n`);
    expect(loadSystemFile(path).system.protectionDomains[0]?.name).toBe("a");
  });
});

describe("size and depth bounds", () => {
  it("rejects text longer than the bound where the bound is crossed", () => {
    const text = `<system>${" ".repeat(MAX_SYSTEM_FILE_CHARS)}${PD}</system>`;
    const err = errorOf(() => parseSystemDescription(text));
    expect(err.code).toBe("file-too-large");
    expect(err.location).toEqual({
      file: "system.system",
      line: 1,
      column: MAX_SYSTEM_FILE_CHARS + 1,
    });
    expect(err.message).toMatch(/larger than 64 MiB.*system\.system:1:\d+$/);
  });

  it("rejects elements nested past the depth bound at the first one too deep", () => {
    const depth = MAX_XML_DEPTH + 10;
    const text = `<system>${PD}${"<x>".repeat(depth)}${"</x>".repeat(depth)}</system>`;
    const err = errorOf(() => parseSystemDescription(text));
    expect(err.code).toBe("xml-too-deep");
    // `<system>` is depth 1, so the first `<x>` past the bound is number MAX_XML_DEPTH.
    expect(err.location?.column).toBe("<system>".length + PD.length + 3 * (MAX_XML_DEPTH - 1) + 1);
  });

  it("rejects a document of more nodes than the bound at the first one past it", () => {
    const text = `<system>${PD}${"<x/>".repeat(MAX_XML_NODES)}</system>`;
    const err = errorOf(() => parseSystemDescription(text));
    expect(err.code).toBe("xml-too-many-nodes");
    // `<system>`, the PD's element, name attribute and program image and its path: 5 nodes.
    // The location is where saxes stood: the `>` of the `<x/>` past the bound.
    expect(err.location?.column).toBe("<system>".length + PD.length + 4 * (MAX_XML_NODES - 4));
  });
});

describe("one long comment, text or tag", () => {
  const head = `<system>${PD}\n  <!--`;
  const long = `${head}${"a".repeat(MAX_XML_RUN + 10)}\u0001 -->\n</system>`;

  it("fails where it starts, from a string and from a file alike", () => {
    const fromString = errorOf(() => parseSystemDescription(long, { fileName: "c.system" }));
    expect(fromString.code).toBe("xml-run-too-long");
    // The run begins where the text node "\n  " ends: at the comment's `<`.
    expect(fromString.location).toEqual({ file: "c.system", line: 2, column: 3 });
    const path = join(dir, "comment.system");
    writeFileSync(path, long);
    const fromFile = errorOf(() => loadSystemFile(path, { fileName: "c.system" }));
    expect(fromFile.message).toBe(fromString.message);
    expect(fromFile.location).toEqual(fromString.location);
  });

  it("accepts a run just under the bound", () => {
    const text = `<system>${PD}<!--${"a".repeat(MAX_XML_RUN - 16)}--></system>`;
    expect(parseSystemDescription(text).system.protectionDomains).toHaveLength(1);
  });

  it("still reports an XML error that comes before the bound", () => {
    const err = errorOf(() => parseSystemDescription(`${head}aaa\u0001${"a".repeat(MAX_XML_RUN)}`));
    expect(err.code).toBe("xml-malformed");
  });
});

describe("locatedMessage", () => {
  it("puts the location in front of the tool's unlocated texts", () => {
    const number = errorOf(() =>
      parseSystemDescription(`<system>\n${PD}<memory_region name="m" size="-1"/></system>`),
    );
    expect(number.message).toBe(
      "Error: failed to parse integer '-1' on element 'memory_region': invalid digit found in string",
    );
    expect(locatedMessage(number)).toBe(`system.system:2:${PD.length + 1}: ${number.message}`);

    const pds = Array.from(
      { length: 70 },
      (_, i) => `<protection_domain name="p${i}"><program_image path="a.elf"/></protection_domain>`,
    );
    const many = errorOf(() => parseSystemDescription(`<system>\n${pds.join("\n")}\n</system>`));
    expect(many.code).toBe("too-many-protection-domains");
    expect(locatedMessage(many)).toBe(
      "system.system:65:1: Error: too many protection domains (70) defined. Maximum is 63.",
    );

    const none = errorOf(() => parseSystemDescription("\n <system/>"));
    expect(locatedMessage(none)).toBe(
      "system.system:2:2: Error: at least one protection domain must be defined",
    );
  });

  it("leaves a message that already ends in its location as it is", () => {
    const err = errorOf(() => parseSystemDescription(`<system>${PD}<bad/></system>`));
    expect(locatedMessage(err)).toBe(err.message);
  });
});
