/**
 * `vmmux gen`: write a Microkit system file for the sDDF serial subsystem with N sDDF clients
 * or N libvmm VMM guests, in sdfgen's layout (see `serial.ts`), to stdout or atomically to a
 * file. The file validates with `vmmux sdf` and its roles are found by `discoverSerialRoles`.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { writeFileAtomic } from "../asciicast.js";
import type { Io } from "../commands.js";
import { type GenOptions, generateSerialSystem, MAX_GEN_CLIENTS } from "./serial.js";

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_GEN_CLIENTS) {
    throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_GEN_CLIENTS}`);
  }
  return n;
}

/** A size in bytes (decimal or 0x hex): a power of two of at least 4 KiB, as queue rings need. */
function parseRingSize(value: string): bigint {
  const size = /^(0x[0-9a-f]+|\d+)$/i.test(value) ? BigInt(value) : -1n;
  if (size < 0x1000n || (size & (size - 1n)) !== 0n || size > 1n << 32n) {
    throw new InvalidArgumentError("must be a power of two from 4096 (0x1000) to 2^32 bytes");
  }
  return size;
}

/** A guest RAM size: a multiple of 4 KiB, at least 1 MiB. */
function parseRamSize(value: string): bigint {
  const size = /^(0x[0-9a-f]+|\d+)$/i.test(value) ? BigInt(value) : -1n;
  if (size < 0x10_0000n || size % 0x1000n !== 0n || size > 0x4000_0000n) {
    throw new InvalidArgumentError("must be a multiple of 4096 bytes from 1 MiB to 1 GiB");
  }
  return size;
}

/** Why a file could not be written, in words for the usual causes. */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: "its directory does not exist",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EROFS: "the file system is read-only",
  EISDIR: "it is a directory",
  ENOSPC: "the disk is full",
};

interface GenFlags {
  readonly clients?: number;
  readonly vms?: number;
  readonly output?: string;
  readonly colour: boolean;
  readonly dataSize?: bigint;
  readonly queueSize?: bigint;
  readonly guestRam?: bigint;
  readonly traceTimers: boolean;
}

/** Adds `gen` to `program`. */
export function registerGenCommand(program: Command, io: Io): Command {
  return program
    .command("gen")
    .description(
      "write a Microkit system file in sdfgen's layout: the sDDF serial subsystem on QEMU virt's PL011 with N clients or N VMM guests",
    )
    .addOption(
      new Option("--clients <n>", "N sDDF serial clients (as sDDF's examples/serial)")
        .argParser(parseCount)
        .conflicts("vms"),
    )
    .addOption(
      new Option(
        "--vms <n>",
        "N libvmm VMMs with a Linux guest each (as libvmm's virtio console examples)",
      )
        .argParser(parseCount)
        .conflicts("clients"),
    )
    .option("-o, --output <file>", "write the file here (atomically) instead of to stdout")
    .option(
      "--no-colour",
      "virt_tx without colour codes (the driver's TX data region is not doubled)",
    )
    .option("--data-size <bytes>", "data region size (default 0x10000)", parseRingSize)
    .option("--queue-size <bytes>", "queue region size (default 0x1000)", parseRingSize)
    .option("--guest-ram <bytes>", "guest RAM per VM (default 4 MiB)", parseRamSize)
    .option(
      "--no-trace-timers",
      "leave out the one-shot timer each sDDF client gets to pace a trace replay (pure sdfgen output)",
    )
    .action(async function (this: Command, flags: GenFlags) {
      const count = flags.clients ?? flags.vms;
      if (count === undefined) {
        this.error("vmmux gen: say how many: --clients <n> or --vms <n>", {
          exitCode: 1,
          code: "vmmux.gen.count",
        });
      }
      const options: GenOptions = {
        kind: flags.clients !== undefined ? "clients" : "vms",
        count,
        colour: flags.colour,
        traceTimers: flags.traceTimers,
        ...(flags.dataSize === undefined ? {} : { dataSize: flags.dataSize }),
        ...(flags.queueSize === undefined ? {} : { queueSize: flags.queueSize }),
        ...(flags.guestRam === undefined ? {} : { guestRam: flags.guestRam }),
      };
      const text = generateSerialSystem(options);
      if (flags.output === undefined) {
        io.out(text);
        return;
      }
      try {
        await writeFileAtomic(flags.output, text);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why =
          (code === undefined ? undefined : WRITE_FAILURES[code]) ?? (err as Error).message;
        this.error(`vmmux gen: cannot write '${flags.output}': ${why}`, {
          exitCode: 1,
          code: "vmmux.gen.write",
        });
      }
      io.err(`vmmux gen: wrote ${flags.output}\n`);
    });
}
