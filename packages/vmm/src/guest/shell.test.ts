import { describe, expect, it } from "vitest";
import { Shell } from "./shell.js";

describe("shell", () => {
  const sh = new Shell({ hostname: "g1", cmdline: "console=hvc0" });
  it("answers its commands deterministically", () => {
    expect(sh.prompt).toBe("root@g1:~# ");
    expect(sh.run("echo  a   b")).toBe("a b\n");
    expect(sh.run("uname")).toBe("Linux\n");
    expect(sh.run("uname -a")).toMatch(/^Linux g1 .* aarch64 GNU\/Linux\n$/);
    expect(sh.run("ls")).toBe("bin  dev  etc  proc  root  sys  tmp\n");
    expect(sh.run("cat /proc/cmdline")).toBe("console=hvc0\n");
    expect(sh.run("cat /etc/x")).toBe("cat: /etc/x: No such file or directory\n");
    expect(sh.run("help")).toContain("echo");
  });
  it("reports unknown commands and ignores empty lines", () => {
    expect(sh.run("frob 1")).toBe("sh: frob: not found\n");
    expect(sh.run("   ")).toBe("");
  });
});
