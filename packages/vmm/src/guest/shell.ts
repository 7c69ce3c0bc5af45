/**
 * A small deterministic shell for live use: a prompt, `echo`, `uname`, `help`, `ls`,
 * `cat /proc/cmdline`, and the usual message for anything else. Pure: same input, same output.
 */

export interface ShellOptions {
  readonly hostname?: string;
  /** The kernel command line `cat /proc/cmdline` prints. */
  readonly cmdline?: string;
}

const FILES = ["bin", "dev", "etc", "proc", "root", "sys", "tmp"];

export class Shell {
  readonly hostname: string;
  private readonly cmdline: string;

  constructor(options: ShellOptions = {}) {
    this.hostname = options.hostname ?? "vmmux";
    this.cmdline = options.cmdline ?? "";
  }

  get prompt(): string {
    return `root@${this.hostname}:~# `;
  }

  /** Run one command line; returns its output (with `\n` line ends), without the next prompt. */
  run(line: string): string {
    const words = line
      .trim()
      .split(/\s+/)
      .filter((w) => w.length > 0);
    const [command, ...args] = words;
    if (command === undefined) return "";
    switch (command) {
      case "echo":
        return `${args.join(" ")}\n`;
      case "uname":
        return args.includes("-a")
          ? `Linux ${this.hostname} 6.12.0-vmmux #1 SMP PREEMPT aarch64 GNU/Linux\n`
          : "Linux\n";
      case "help":
        return "commands: echo, uname [-a], ls, cat /proc/cmdline, help\n";
      case "ls":
        return `${FILES.join("  ")}\n`;
      case "cat":
        if (args.length === 0) return "";
        return args
          .map((file) =>
            file === "/proc/cmdline"
              ? `${this.cmdline}\n`
              : `cat: ${file}: No such file or directory\n`,
          )
          .join("");
      default:
        return `sh: ${command}: not found\n`;
    }
  }
}
