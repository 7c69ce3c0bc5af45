import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SwitchAction, SwitchMachine, type SwitchMode } from "./switch-machine.js";

const SW = 0x1c;
const CR = 0x0d;
const ch = (s: string) => s.charCodeAt(0);

function machine(numClients = 3, scheme: "sddf" | "legacy-at" = "sddf") {
  return new SwitchMachine({ scheme, numClients, switchChar: SW, terminateNumChar: CR });
}

/** Feed `prefix` then `c`, returning the action for `c` and the mode after it. */
function after(prefix: number[], c: number, numClients = 3) {
  const m = machine(numClients);
  for (const b of prefix) m.step(b);
  const action = m.step(c);
  return { action, mode: m.mode, client: m.currentClient };
}

describe("virt_rx state machine, sDDF scheme (reference §6.2), one row per transition", () => {
  const rows: {
    name: string;
    prefix: number[];
    c: number;
    action: SwitchAction;
    mode: SwitchMode;
    client: number;
  }[] = [
    {
      name: "normal + switch_char is consumed and enters switched",
      prefix: [],
      c: SW,
      action: { kind: "consume" },
      mode: "switched",
      client: 0,
    },
    {
      name: "normal + ordinary byte goes to the current client",
      prefix: [],
      c: ch("a"),
      action: { kind: "forward", byte: ch("a") },
      mode: "normal",
      client: 0,
    },
    {
      name: "normal + Enter is ordinary input",
      prefix: [],
      c: CR,
      action: { kind: "forward", byte: CR },
      mode: "normal",
      client: 0,
    },
    {
      name: "switched + digit is stored and enters number",
      prefix: [SW],
      c: ch("2"),
      action: { kind: "consume" },
      mode: "number",
      client: 0,
    },
    {
      name: "switched + switch_char forwards one switch_char (escape)",
      prefix: [SW],
      c: SW,
      action: { kind: "forward", byte: SW },
      mode: "normal",
      client: 0,
    },
    {
      name: "switched + Enter is an invalid digit and is dropped",
      prefix: [SW],
      c: CR,
      action: { kind: "invalid", reason: "invalid digit" },
      mode: "normal",
      client: 0,
    },
    {
      name: "switched + letter is an invalid digit and is dropped",
      prefix: [SW],
      c: ch("x"),
      action: { kind: "invalid", reason: "invalid digit" },
      mode: "normal",
      client: 0,
    },
    {
      name: "number + terminator with a valid client switches",
      prefix: [SW, ch("2")],
      c: CR,
      action: { kind: "switch", client: 2 },
      mode: "normal",
      client: 2,
    },
    {
      name: "number + terminator with an out-of-range client is invalid",
      prefix: [SW, ch("3")],
      c: CR,
      action: { kind: "invalid", reason: "invalid client 3" },
      mode: "normal",
      client: 0,
    },
    {
      name: "number + digit below the limit is appended",
      prefix: [SW, ch("0")],
      c: ch("1"),
      action: { kind: "consume" },
      mode: "number",
      client: 0,
    },
    {
      name: "number + fifth digit is dropped and resets",
      prefix: [SW, ch("0"), ch("0"), ch("0"), ch("1")],
      c: ch("2"),
      action: { kind: "invalid", reason: "too many or invalid digit" },
      mode: "normal",
      client: 0,
    },
    {
      name: "number + letter is dropped and resets",
      prefix: [SW, ch("1")],
      c: ch("q"),
      action: { kind: "invalid", reason: "too many or invalid digit" },
      mode: "normal",
      client: 0,
    },
    {
      name: "number + switch_char is dropped and resets",
      prefix: [SW, ch("1")],
      c: SW,
      action: { kind: "invalid", reason: "too many or invalid digit" },
      mode: "normal",
      client: 0,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const got = after(row.prefix, row.c);
      expect(got.action).toEqual(row.action);
      expect(got.mode).toBe(row.mode);
      expect(got.client).toBe(row.client);
    });
  }

  it("accepts four digits with leading zeros ('0002' selects client 2)", () => {
    const got = after([SW, ch("0"), ch("0"), ch("0"), ch("2")], CR);
    expect(got.action).toEqual({ kind: "switch", client: 2 });
  });

  it("accepts a four-digit client number when that many clients exist", () => {
    const got = after([SW, ch("1"), ch("2"), ch("3"), ch("4")], CR, 1235);
    expect(got.action).toEqual({ kind: "switch", client: 1234 });
  });

  it("switching to the current client is allowed", () => {
    expect(after([SW, ch("0")], CR).action).toEqual({ kind: "switch", client: 0 });
  });

  it("clears the digits after an aborted sequence", () => {
    // "\x1c5x" aborts; the next sequence must not see the old '5'.
    expect(after([SW, ch("5"), ch("x"), SW, ch("1")], CR).action).toEqual({
      kind: "switch",
      client: 1,
    });
  });

  it("keeps the selected client across later ordinary input", () => {
    const m = machine();
    for (const b of [SW, ch("1"), CR]) m.step(b);
    expect(m.step(ch("z"))).toEqual({ kind: "forward", byte: ch("z") });
    expect(m.currentClient).toBe(1);
  });

  it("reports a half-typed sequence as mid-sequence until it ends", () => {
    const m = machine();
    m.step(SW);
    expect(m.midSequence).toBe(true);
    m.step(ch("1"));
    expect(m.midSequence).toBe(true);
    m.step(CR);
    expect(m.midSequence).toBe(false);
  });
});

describe("virt_rx legacy '@' scheme (reference §6.3)", () => {
  it("starts on client 1, i.e. index 0", () => {
    expect(machine(3, "legacy-at").currentClient).toBe(0);
  });

  it("'@2' selects 1-based client 2 with no terminator", () => {
    const m = machine(3, "legacy-at");
    expect(m.step(ch("@"))).toEqual({ kind: "consume" });
    expect(m.step(ch("2"))).toEqual({ kind: "switch", client: 1 });
    expect(m.step(ch("a"))).toEqual({ kind: "forward", byte: ch("a") });
  });

  it("'@0' and a digit beyond the client count are invalid and keep the client", () => {
    const m = machine(2, "legacy-at");
    m.step(ch("@"));
    expect(m.step(ch("0")).kind).toBe("invalid");
    m.step(ch("@"));
    expect(m.step(ch("3")).kind).toBe("invalid");
    expect(m.currentClient).toBe(0);
  });

  it("a backslash sends the next byte literally, '@' included", () => {
    const m = machine(2, "legacy-at");
    expect(m.step(ch("\\"))).toEqual({ kind: "consume" });
    expect(m.step(ch("@"))).toEqual({ kind: "forward", byte: ch("@") });
    expect(m.mode).toBe("normal");
  });

  it("'@m' broadcasts; a later bad '@x' leaves no client selected, as the old mux did", () => {
    const m = machine(2, "legacy-at");
    m.step(ch("@"));
    expect(m.step(ch("m"))).toEqual({ kind: "switch", client: -1 });
    expect(m.step(ch("a"))).toEqual({ kind: "broadcast", byte: ch("a") });
    m.step(ch("@"));
    expect(m.step(ch("x")).kind).toBe("invalid");
    expect(m.broadcasting).toBe(false);
    expect(m.step(ch("b"))).toEqual({ kind: "unrouted", byte: ch("b") });
    m.step(ch("@"));
    expect(m.step(ch("1"))).toEqual({ kind: "switch", client: 0 });
  });

  it("ignores the sDDF switch character", () => {
    const m = machine(2, "legacy-at");
    expect(m.step(SW)).toEqual({ kind: "forward", byte: SW });
  });
});

describe("stepKind: the per-byte path without action objects", () => {
  it("with its documented accessors, gives exactly step's actions in both schemes", () => {
    const interesting = [SW, CR, ch("0"), ch("1"), ch("2"), ch("9"), ch("@"), ch("m"), ch("\\")];
    fc.assert(
      fc.property(
        fc.constantFrom<"sddf" | "legacy-at">("sddf", "legacy-at"),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.oneof(fc.constantFrom(...interesting), fc.nat({ max: 255 })), {
          maxLength: 80,
        }),
        (scheme, clients, input) => {
          const a = machine(clients, scheme);
          const b = machine(clients, scheme);
          for (const c of input) {
            const kind = b.stepKind(c);
            const rebuilt =
              kind === "switch"
                ? { kind, client: b.currentClient }
                : kind === "invalid"
                  ? { kind, reason: b.lastReason }
                  : kind === "consume"
                    ? { kind }
                    : { kind, byte: c };
            expect(rebuilt).toEqual(a.step(c));
            expect(b.mode).toBe(a.mode);
          }
        },
      ),
    );
  });
});
