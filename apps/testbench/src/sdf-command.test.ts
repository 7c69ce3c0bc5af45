// `vmmux sdf` with each of the parser's switches (issue 9 item 3): one small file of each kind
// that the default configuration rejects and the right option accepts, errors located, control
// bytes escaped.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import type { Io } from "./commands.js";
import { registerSdfCommand } from "./sdf-command.js";

const dir = mkdtempSync(join(tmpdir(), "vmmux-sdf-command-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function system(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `<?xml version="1.0"?>\n<system>\n${body}\n</system>\n`);
  return path;
}

const pd = (attrs: string, inner = "") =>
  `  <protection_domain name="p" ${attrs}>\n    <program_image path="p.elf" />\n${inner}  </protection_domain>`;

/** Runs `vmmux sdf ...args` in-process: exit status and what went to stdout and stderr. */
async function sdf(...args: string[]) {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    isTty: false,
  };
  const program = new Command("vmmux")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  registerSdfCommand(program, io);
  let status = 0;
  try {
    await program.parseAsync(["sdf", ...args], { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    status = e.exitCode;
  }
  return { status, out, err };
}

describe("vmmux sdf options", () => {
  it("--arch x86_64 accepts I/O ports that AArch64 rejects", async () => {
    const file = system("ioport.system", pd("", '    <ioport id="0" addr="0x3f8" size="8" />\n'));
    const arm = await sdf(file);
    expect(arm.status).toBe(1);
    expect(arm.err).toContain("I/O Ports are only available on x86");
    expect(arm.err).toContain(`${file}:3:3`);
    const x86 = await sdf(file, "--arch", "x86_64");
    expect(x86).toMatchObject({ status: 0, err: "" });
    expect(x86.out).toContain("1 protection domain(s)");
  });

  it("--cores allows cpu ids below the core count only", async () => {
    const file = system("smp.system", pd('cpu="3"'));
    expect((await sdf(file)).err).toContain("cpu core must be less than 1, got 3");
    expect((await sdf(file, "--cores", "3")).err).toContain("cpu core must be less than 3, got 3");
    expect(await sdf(file, "--cores", "4")).toMatchObject({ status: 0, err: "" });
    expect((await sdf(file, "--cores", "0")).err).toContain("must be a whole number from 1 to 256");
  });

  it("--smc and --no-smc say whether the kernel forwards SMC calls", async () => {
    const file = system("smc.system", pd('smc="true"'));
    const unknown = await sdf(file);
    // The tool's bare text (§4.5) gets the location in front.
    expect(unknown.err).toBe(
      `vmmux sdf: ${file}:3:3: ARM SMC forwarding support is not available for this architecture\n`,
    );
    expect(await sdf(file, "--smc")).toMatchObject({ status: 0, err: "" });
    expect((await sdf(file, "--no-smc")).err).toContain(
      "Using SMC support without ARM SMC forwarding support enabled",
    );
  });

  it("--dialect legacy accepts a pre-1.4 virtual machine with an id", async () => {
    const vm =
      '    <virtual_machine name="linux" id="0" priority="100">\n      <map mr="ram" vaddr="0x40000000" />\n    </virtual_machine>\n';
    const file = system(
      "legacy.system",
      `  <memory_region name="ram" size="0x1000" />\n${pd('priority="101"', vm)}`,
    );
    expect((await sdf(file)).err).toContain("invalid attribute 'id' on element 'virtual_machine'");
    const legacy = await sdf(file, "--dialect", "legacy");
    expect(legacy).toMatchObject({ status: 0, err: "" });
    expect(legacy.out).toContain("linux (VMM p): 1 vCPU(s) [0]");
  });

  it("-I/--search-path finds prefill files, first directory first", async () => {
    const file = system(
      "prefill.system",
      `  <memory_region name="m" prefill_path="fill.bin" />\n${pd("", '    <map mr="m" vaddr="0x1000000" />\n')}`,
    );
    const a = join(dir, "a");
    const b = join(dir, "b");
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(b, "fill.bin"), Buffer.alloc(5000));
    const missing = await sdf(file, "-I", a);
    expect(missing.status).toBe(1);
    expect(missing.err).toMatch(/fill\.bin/);
    expect(missing.err).toContain(`${file}:3:3`);
    const found = await sdf(file, "-I", a, "--search-path", b);
    expect(found).toMatchObject({ status: 0, err: "" });
    // The size is the prefill length rounded up to a page.
    expect(found.out).toContain("m: 8 KiB");
  });

  it("--json prints the parsed system with addresses as hex strings", async () => {
    const file = system("json.system", pd('priority="7"'));
    const { status, out } = await sdf(file, "--json");
    expect(status).toBe(0);
    const json = JSON.parse(out) as { protectionDomains: { name: string; priority: number }[] };
    expect(json.protectionDomains[0]).toMatchObject({ name: "p", priority: 7 });
  });
});

describe("vmmux sdf --roles", () => {
  const systems = join(import.meta.dirname, "../../../traces/systems");

  it("shows the serial roles after the summary", async () => {
    const { status, out } = await sdf(join(systems, "libvmm-dual-guest-2024.system"), "--roles");
    expect(status).toBe(0);
    expect(out).toContain("  client 2: BLK_DRIVER_VMM (VMM of 'blk_linux', priority 200)");
    expect(out).toContain("idle (no program in the model): BLK_VIRT");
  });

  it("fails when a valid file has no serial subsystem", async () => {
    const file = system("plain.system", pd(""));
    const { status, out, err } = await sdf(file, "--roles");
    expect(status).toBe(1);
    expect(out).toContain("1 protection domain(s)");
    expect(err).toBe(
      "vmmux sdf: valid, but no serial roles: no protection domain runs the UART driver (program image uart_driver.elf or serial_driver.elf)\n",
    );
  });
});

describe("vmmux sdf errors", () => {
  it("locates errors the tool prints without a location", async () => {
    const file = system("number.system", `  <memory_region name="m" size="-1" />\n${pd("")}`);
    const { status, err } = await sdf(file);
    expect(status).toBe(1);
    expect(err).toBe(
      `vmmux sdf: ${file}:3:3: Error: failed to parse integer '-1' on element 'memory_region': invalid digit found in string\n`,
    );
  });

  it("escapes control bytes from the file in messages and in the summary", async () => {
    // XML forbids C0 controls but allows C1 ones such as CSI (0x9b).
    const bad = system("ctl.system", `  <memory_region name="m" size="\u009b2J" />\n${pd("")}`);
    const { err } = await sdf(bad);
    expect(err).not.toContain("\u009b");
    expect(err).toContain("'\\x9b2J'");
    const named = system("name.system", pd('priority="1"').replace('"p"', '"p\u009b31m"'));
    const { out } = await sdf(named);
    expect(out).not.toContain("\u009b");
    expect(out).toContain("p\\x9b31m");
  });

  it("reports a missing file as one line", async () => {
    const { status, err } = await sdf(join(dir, "nope.system"));
    expect(status).toBe(1);
    expect(err).toBe(
      `vmmux sdf: Error: unable to read system file '${join(dir, "nope.system")}': there is no such file\n`,
    );
  });
});
