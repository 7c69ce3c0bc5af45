import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseAsciicast } from "../asciicast.js";
import { RecordError } from "./errors.js";
import { commandLine, exitStatus, recordCommand } from "./record.js";

/** A child that prints with pauses, echoes each input line, and exits 3 on "bye". */
const ECHO_CHILD = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  process.stdout.write("boot\\n");
  await sleep(60);
  process.stderr.write("warn: late\\n");
  await sleep(60);
  process.stdout.write("login: ");
  let buffered = "";
  process.stdin.on("data", (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      process.stdout.write("echo:" + line + "\\n");
      if (line === "bye") process.exit(3);
    }
  });
})();
`;

/** QEMU is not a dependency of the project; the session test runs where it is installed. */
const hasQemu = (() => {
  try {
    execFileSync("qemu-system-aarch64", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmmux-record-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function keyboard(): PassThrough {
  return new PassThrough();
}

describe("recordCommand", () => {
  it("records output and forwarded input as ordered, monotonic events and keeps the exit status", async () => {
    const stdin = keyboard();
    const output = join(dir, "session.cast");
    const shown: Buffer[] = [];
    const echo = new PassThrough();
    // Type like a person: answer the prompt, then say bye 100 ms after the echo came back.
    echo.on("data", (b: Buffer) => {
      shown.push(b);
      const text = b.toString();
      if (text.includes("login: ")) stdin.write("root\n");
      if (text.includes("echo:root")) setTimeout(() => stdin.write("bye\n"), 100);
    });
    const result = await recordCommand({
      command: process.execPath,
      args: ["-e", ECHO_CHILD],
      output,
      stdin,
      echo,
      timeoutMs: 10_000,
    });

    expect(result.exitCode).toBe(3);
    expect(result.status).toBe(3);
    expect(result.signal).toBeNull();
    expect(result.timedOut).toBe(false);

    const cast = parseAsciicast(await readFile(output, "utf8"), output);
    expect(cast).toEqual(result.cast);
    expect(cast.header).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(cast.header.title).toBe(commandLine(process.execPath, ["-e", ECHO_CHILD]));

    const out = cast.events
      .filter((e) => e.code === "o")
      .map((e) => e.data)
      .join("");
    expect(out).toBe("boot\nwarn: late\nlogin: echo:root\necho:bye\n");
    expect(Buffer.concat(shown).toString()).toBe(out);
    expect(cast.events.filter((e) => e.code === "i").map((e) => e.data)).toEqual([
      "root\n",
      "bye\n",
    ]);

    const times = cast.events.map((e) => e.time);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
    const at = (code: string, text: string) =>
      cast.events.find((e) => e.code === code && e.data.includes(text))!.time;
    // The child sleeps 120 ms before its prompt; "bye" is typed 100 ms after the first echo.
    expect(at("o", "boot")).toBeLessThan(at("o", "warn"));
    expect(at("o", "login")).toBeGreaterThanOrEqual(0.12);
    expect(at("i", "root")).toBeGreaterThanOrEqual(at("o", "login"));
    expect(at("i", "bye") - at("i", "root")).toBeGreaterThanOrEqual(0.09);
    expect(at("o", "echo:root")).toBeGreaterThanOrEqual(at("i", "root"));
    expect(at("o", "echo:bye")).toBeGreaterThanOrEqual(at("i", "bye"));
    expect(times.at(-1)!).toBeLessThan(10);
  });

  it("keeps a multi-byte character whole when the pipe splits it", async () => {
    const output = join(dir, "utf8.cast");
    const script =
      "const b=Buffer.from('é→✓');process.stdout.write(b.subarray(0,1));" +
      "setTimeout(()=>process.stdout.write(b.subarray(1)),40);";
    await recordCommand({
      command: process.execPath,
      args: ["-e", script],
      output,
      stdin: null,
      echo: null,
    });
    const cast = parseAsciicast(await readFile(output, "utf8"));
    expect(cast.events.map((e) => e.data).join("")).toBe("é→✓");
    expect(cast.events.every((e) => !e.data.includes("\uFFFD"))).toBe(true);
  });

  it("passes on a signal death as 128 + signal number", async () => {
    const output = join(dir, "killed.cast");
    const result = await recordCommand({
      command: "sh",
      args: ["-c", "echo dying; kill -TERM $$"],
      output,
      stdin: null,
      echo: null,
    });
    expect(result.signal).toBe("SIGTERM");
    expect(result.exitCode).toBeNull();
    expect(result.status).toBe(143);
    expect(parseAsciicast(await readFile(output, "utf8")).events[0]?.data).toBe("dying\n");
  });

  it("stops a command at the timeout, marks it and still writes the recording", async () => {
    const output = join(dir, "slow.cast");
    const result = await recordCommand({
      command: "sh",
      args: ["-c", "echo started; sleep 30"],
      output,
      stdin: null,
      echo: null,
      timeoutMs: 200,
    });
    expect(result.timedOut).toBe(true);
    expect(result.status).not.toBe(0);
    const cast = parseAsciicast(await readFile(output, "utf8"));
    expect(cast.events.map((e) => [e.code, e.data])).toEqual([
      ["o", "started\n"],
      ["m", "timeout after 200 ms"],
    ]);
  });

  it("writes nothing and keeps an old recording when the command cannot start", async () => {
    const output = join(dir, "old.cast");
    await writeFile(output, "previous recording\n");
    const attempt = recordCommand({
      command: join(dir, "no-such-program"),
      output,
      stdin: keyboard(),
      echo: null,
    });
    await expect(attempt).rejects.toBeInstanceOf(RecordError);
    await expect(attempt).rejects.toMatchObject({ code: "RECORD_SPAWN_FAILED" });
    expect(await readFile(output, "utf8")).toBe("previous recording\n");
    expect(await readdir(dir)).toEqual(["old.cast"]);
  });

  it("refuses before running when the output folder does not exist", async () => {
    const marker = join(dir, "ran");
    const attempt = recordCommand({
      command: "sh",
      args: ["-c", `touch ${marker}`],
      output: join(dir, "missing", "x.cast"),
      stdin: null,
      echo: null,
    });
    await expect(attempt).rejects.toMatchObject({ code: "RECORD_WRITE_FAILED" });
    expect(await readdir(dir)).toEqual([]);
  });

  it("leaves no temporary file when the final rename fails", async () => {
    const output = join(dir, "target.cast");
    // The folder exists at the start; removing it while the command runs makes the write fail.
    const attempt = recordCommand({
      command: "sh",
      args: ["-c", `sleep 0.1; rm -rf ${dir}/target.cast; mkdir ${output}; touch ${output}/keep`],
      output,
      stdin: null,
      echo: null,
    });
    await expect(attempt).rejects.toMatchObject({ code: "RECORD_WRITE_FAILED" });
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("puts a TTY stdin in raw mode while recording and restores it when a signal stops the session", async () => {
    const tty = Object.assign(keyboard(), { isTTY: true, isRaw: false, setRawMode: vi.fn() });
    const output = join(dir, "tty.cast");
    const listenersBefore = process.listenerCount("SIGHUP");
    const attempt = recordCommand({
      command: "sh",
      args: ["-c", "echo ready; sleep 5"],
      output,
      stdin: tty,
      echo: null,
    });
    await vi.waitFor(() => expect(tty.setRawMode).toHaveBeenCalledWith(true), { timeout: 2000 });
    // A hang-up of the recorder: the terminal is restored at once and the command gets it too.
    setTimeout(() => process.emit("SIGHUP", "SIGHUP"), 100);
    const result = await attempt;
    expect(tty.setRawMode.mock.calls).toEqual([[true], [false]]);
    expect(result.signal).toBe("SIGHUP");
    expect(result.status).toBe(129);
    expect(process.listenerCount("SIGHUP")).toBe(listenersBefore);
    expect(parseAsciicast(await readFile(output, "utf8")).events[0]?.data).toBe("ready\n");
  });

  it("takes the size from a TTY and records its resizes as r events", async () => {
    const screen = Object.assign(new PassThrough(), { isTTY: true, columns: 132, rows: 43 });
    screen.resume();
    const attempt = recordCommand({
      command: "sh",
      args: ["-c", "echo a; sleep 0.3; echo b"],
      output: join(dir, "resize.cast"),
      stdin: null,
      echo: screen,
    });
    setTimeout(() => {
      Object.assign(screen, { columns: 100, rows: 30 });
      screen.emit("resize");
    }, 100);
    const { cast } = await attempt;
    expect(cast.header).toMatchObject({ width: 132, height: 43 });
    expect(cast.events.map((e) => [e.code, e.data])).toEqual([
      ["o", "a\n"],
      ["r", "100x30"],
      ["o", "b\n"],
    ]);
    expect(screen.listenerCount("resize")).toBe(0);
  });

  it.skipIf(!hasQemu)("records a QEMU -nographic console session through plain pipes", async () => {
    const stdin = keyboard();
    const echo = new PassThrough();
    let prompts = 0;
    echo.on("data", (b: Buffer) => {
      for (const _ of b.toString().matchAll(/\(qemu\) /g)) {
        prompts++;
        stdin.write(prompts === 1 ? "info version\n" : "quit\n");
      }
    });
    // Ctrl-A c switches QEMU's multiplexed stdio from the serial port to its monitor.
    stdin.write("\u0001c");
    const output = join(dir, "qemu.cast");
    const result = await recordCommand({
      command: "qemu-system-aarch64",
      args: ["-M", "virt", "-cpu", "cortex-a57", "-m", "64", "-nographic"],
      output,
      stdin,
      echo,
      timeoutMs: 30_000,
    });
    expect(result).toMatchObject({ status: 0, timedOut: false });
    const cast = parseAsciicast(await readFile(output, "utf8"));
    expect(cast.header.title).toBe("qemu-system-aarch64 -M virt -cpu cortex-a57 -m 64 -nographic");
    expect(cast.events.filter((e) => e.code === "i").map((e) => e.data)).toEqual([
      "\u0001c",
      "info version\n",
      "quit\n",
    ]);
    const out = cast.events
      .filter((e) => e.code === "o")
      .map((e) => e.data)
      .join("");
    expect(out).toContain("QEMU");
    expect(out).toMatch(/\r\n\d+\.\d+\.\d+/);
  });

  it("rejects options that cannot describe a recording", async () => {
    await expect(
      recordCommand({ command: "", output: join(dir, "x.cast"), stdin: null, echo: null }),
    ).rejects.toMatchObject({ code: "RECORD_INVALID_OPTIONS" });
    await expect(
      recordCommand({ command: "true", output: join(dir, "x.cast"), timeoutMs: -1, stdin: null }),
    ).rejects.toMatchObject({ code: "RECORD_INVALID_OPTIONS" });
  });
});

describe("commandLine and exitStatus", () => {
  it("quotes words a shell would split or expand", () => {
    expect(
      commandLine("qemu-system-aarch64", ["-M", "virt", "-append", "console=ttyAMA0 quiet"]),
    ).toBe("qemu-system-aarch64 -M virt -append 'console=ttyAMA0 quiet'");
    expect(commandLine("sh", ["-c", "echo 'hi'"])).toBe(`sh -c 'echo '\\''hi'\\'''`);
  });

  it("maps a signal to 128 + its number and keeps an exit code", () => {
    expect(exitStatus(0, null)).toBe(0);
    expect(exitStatus(null, "SIGKILL")).toBe(137);
    expect(exitStatus(null, "SIGINT")).toBe(130);
  });
});
