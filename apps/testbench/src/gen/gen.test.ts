// `vmmux gen` (issue 9 item 4): sdfgen's layout for sDDF's examples/serial and libvmm's
// virtio console examples, and the round trip gen → `vmmux sdf` → roles for 2, 4 and 8 guests
// of each kind.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSystemDescription } from "@vmmux/microkit-pd";
import { Command, CommanderError } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import type { Io } from "../commands.js";
import { discoverSerialRoles } from "../roles.js";
import { registerSdfCommand } from "../sdf-command.js";
import { registerGenCommand } from "./command.js";
import { generateSerialSystem } from "./serial.js";

const dir = mkdtempSync(join(tmpdir(), "vmmux-gen-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `vmmux ...args` with `gen` and `sdf` registered, in-process. */
async function vmmux(...args: string[]) {
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
  registerGenCommand(program, io);
  registerSdfCommand(program, io);
  let status = 0;
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    status = e.exitCode;
  }
  return { status, out, err };
}

describe("sdfgen's layout", () => {
  const text = generateSerialSystem({ kind: "clients", count: 2 });
  const lines = text.split("\n");

  it("writes regions, then PDs, then channels, with sdfgen's names, sizes and priorities", () => {
    expect(lines.slice(0, 4)).toEqual([
      '<?xml version="1.0" encoding="UTF-8"?>',
      "<system>",
      '    <memory_region name="pl011@9000000/drivers/serial/arm/regs" size="0x1000" phys_addr="0x9000000" />',
      '    <memory_region name="pl011@9000000/serial/queue/serial_driver/serial_virt_rx" size="0x1000" />',
    ]);
    expect(text).toContain(
      '<memory_region name="pl011@9000000/serial/data/serial_driver/serial_virt_tx" size="0x20000" />',
    );
    expect(text).toContain(
      '<memory_region name="pl011@9000000/serial/data/serial_virt_tx/client1" size="0x10000" />',
    );
    const pds = lines.filter((l) => l.includes("<protection_domain"));
    expect(pds).toEqual([
      '    <protection_domain name="serial_driver" priority="200">',
      '    <protection_domain name="serial_virt_tx" priority="199">',
      '    <protection_domain name="serial_virt_rx" priority="199" stack_size="0x2000">',
      '    <protection_domain name="client0" priority="1">',
      '    <protection_domain name="client1" priority="1">',
    ]);
    expect(text).toContain('        <irq irq="33" id="0" trigger="level" />');
  });

  it("creates the connections in sdfgen's order with the lowest free channel ids", () => {
    const ends = lines.filter((l) => l.includes("<end ")).map((l) => l.trim());
    expect(ends).toEqual([
      '<end pd="serial_driver" id="1" />',
      '<end pd="serial_virt_rx" id="0" />',
      '<end pd="serial_virt_rx" id="1" />',
      '<end pd="client0" id="0" />',
      '<end pd="serial_virt_rx" id="2" />',
      '<end pd="client1" id="0" />',
      '<end pd="serial_driver" id="2" />',
      '<end pd="serial_virt_tx" id="0" />',
      '<end pd="serial_virt_tx" id="1" />',
      '<end pd="client0" id="1" />',
      '<end pd="serial_virt_tx" id="2" />',
      '<end pd="client1" id="1" />',
    ]);
  });

  it("maps each region at sdfgen's next free address from 0x2000_0000", () => {
    const driver = text.slice(
      text.indexOf('name="serial_driver"'),
      text.indexOf('name="serial_virt_tx"'),
    );
    expect([...driver.matchAll(/vaddr="(0x[0-9a-f]+)"/g)].map((m) => m[1])).toEqual([
      "0x20000000",
      "0x20001000",
      "0x20002000",
      "0x20012000",
      "0x20013000",
    ]);
  });

  it("without colour or trace timers is sdfgen's own output (no vmmux device)", () => {
    const plain = generateSerialSystem({
      kind: "clients",
      count: 2,
      colour: false,
      traceTimers: false,
    });
    expect(plain).toContain(
      '<memory_region name="pl011@9000000/serial/data/serial_driver/serial_virt_tx" size="0x10000" />',
    );
    expect(plain).not.toContain("timer_");
    expect(plain.match(/<irq /g)).toHaveLength(1);
  });

  it("puts VMMs before the serial PDs, at 100, with their guests' RAM mapped into both", () => {
    const vms = generateSerialSystem({ kind: "vms", count: 2 });
    const pds = vms.split("\n").filter((l) => l.includes("<protection_domain"));
    expect(pds[0]).toBe('    <protection_domain name="CLIENT_VMM_0" priority="100">');
    expect(pds[2]).toBe('    <protection_domain name="serial_driver" priority="200">');
    expect(vms).toContain('<map mr="guest_ram_client_linux_1" vaddr="0x40000000" perms="rw" />');
    expect(vms).toContain('<virtual_machine name="client_linux_1">');
    expect(vms).toContain('<map mr="guest_ram_client_linux_1" vaddr="0x40000000" perms="rwx" />');
  });
});

describe("gen → sdf → roles", () => {
  for (const kind of ["clients", "vms"] as const) {
    for (const count of [2, 4, 8]) {
      it(`${count} ${kind === "clients" ? "sDDF clients" : "VMM guests"}`, async () => {
        const file = join(dir, `${kind}-${count}.system`);
        const gen = await vmmux("gen", `--${kind}`, String(count), "-o", file);
        expect(gen).toMatchObject({ status: 0, out: "", err: `vmmux gen: wrote ${file}\n` });
        const sdf = await vmmux("sdf", file);
        expect(sdf.err).toBe("");
        expect(sdf.status).toBe(0);
        expect(sdf.out).toContain(`${count + 3} protection domain(s)`);
        const { system, warnings } = parseSystemDescription(readFileSync(file, "utf8"), {
          fileName: file,
        });
        expect(warnings).toEqual([]);
        const roles = discoverSerialRoles(system);
        expect(roles.clients).toHaveLength(count);
        expect(roles.idle).toEqual([]);
        expect(
          roles.clients.every((c) => c.kind === (kind === "vms" ? "vmm" : "sddf-client")),
        ).toBe(true);
        if (kind === "clients")
          expect(roles.clients.every((c) => c.timer !== undefined)).toBe(true);
      });
    }
  }
});

describe("the generated systems in traces/systems", () => {
  it("are what vmmux gen writes today", () => {
    const systems = join(import.meta.dirname, "../../../../traces/systems");
    expect(readFileSync(join(systems, "sdfgen-serial-2-clients.system"), "utf8")).toBe(
      generateSerialSystem({ kind: "clients", count: 2 }),
    );
    expect(readFileSync(join(systems, "sdfgen-virtio-2-vms.system"), "utf8")).toBe(
      generateSerialSystem({ kind: "vms", count: 2 }),
    );
  });
});

describe("vmmux gen command", () => {
  it("prints to stdout without -o", async () => {
    const { status, out } = await vmmux("gen", "--vms", "1");
    expect(status).toBe(0);
    expect(out).toBe(generateSerialSystem({ kind: "vms", count: 1 }));
  });

  it("wants exactly one of --clients and --vms, within bounds", async () => {
    expect((await vmmux("gen")).err).toBe("vmmux gen: say how many: --clients <n> or --vms <n>\n");
    expect((await vmmux("gen", "--clients", "2", "--vms", "2")).status).toBe(1);
    expect((await vmmux("gen", "--clients", "61")).err).toContain("from 1 to 60");
    expect((await vmmux("gen", "--clients", "2", "--data-size", "0x3000")).err).toContain(
      "power of two",
    );
  });

  it("generates the largest system that still validates", async () => {
    const file = join(dir, "max.system");
    await vmmux("gen", "--clients", "60", "-o", file);
    const sdf = await vmmux("sdf", file);
    expect(sdf).toMatchObject({ status: 0, err: "" });
    expect(sdf.out).toContain("63 protection domain(s)");
  });

  it("says in words when the file cannot be written", async () => {
    const { status, err } = await vmmux("gen", "--clients", "1", "-o", join(dir, "no/such/dir/x"));
    expect(status).toBe(1);
    expect(err).toBe(
      `vmmux gen: cannot write '${join(dir, "no/such/dir/x")}': its directory does not exist\n`,
    );
  });
});
