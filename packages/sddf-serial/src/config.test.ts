import { describe, expect, it } from "vitest";
import {
  DEFAULT_BEGIN_STR,
  DEFAULT_SWITCH_CHAR,
  DEFAULT_TERMINATE_NUM_CHAR,
  virtRxConfig,
  virtTxConfig,
} from "./config.js";
import { SerialVirtError } from "./errors.js";

const driver = { queue: "q", data: "d", channel: 0 };
const client = (channel: number) => ({
  conn: { queue: `q${channel}`, data: `d${channel}`, channel },
  name: `c${channel}`,
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof SerialVirtError) return error.code;
    throw error;
  }
  return undefined;
}

describe("virtualiser configuration (reference §4)", () => {
  it("fills sdfgen's defaults: colour on, RX on, 'Begin input\\r\\n', Ctrl+\\ and Enter", () => {
    const tx = virtTxConfig({ driver, clients: [client(1)] });
    expect(tx).toMatchObject({ enableColour: true, enableRx: true, lineAtomic: false });
    expect(tx.beginStr).toBe(DEFAULT_BEGIN_STR);
    expect(DEFAULT_BEGIN_STR).toHaveLength(13);
    const rx = virtRxConfig({ driver, clients: [client(1).conn] });
    expect([rx.switchChar, rx.terminateNumChar]).toEqual([0x1c, 0x0d]);
    expect([DEFAULT_SWITCH_CHAR, DEFAULT_TERMINATE_NUM_CHAR]).toEqual([28, 13]);
    expect(rx.scheme).toBe("sddf");
  });

  it("rejects a profile that is neither reference nor hardened", () => {
    const profile = "strict" as unknown as "hardened";
    expect(codeOf(() => virtTxConfig({ driver, clients: [client(1)], profile }))).toBe(
      "BAD_PROFILE",
    );
    expect(codeOf(() => virtRxConfig({ driver, clients: [client(1).conn], profile }))).toBe(
      "BAD_PROFILE",
    );
  });

  it("rejects a switch scheme other than sddf or legacy-at", () => {
    const scheme = "at" as unknown as "sddf";
    expect(codeOf(() => virtRxConfig({ driver, clients: [client(1).conn], scheme }))).toBe(
      "BAD_SCHEME",
    );
  });

  it("turns the defects on under reference and off under hardened", () => {
    expect(virtTxConfig({ driver, clients: [], profile: "reference" }).defects).toEqual({
      oversizedUnitStalls: true,
      transferOverflowDrops: true,
    });
    expect(virtTxConfig({ driver, clients: [] }).defects).toEqual({
      oversizedUnitStalls: false,
      transferOverflowDrops: false,
    });
    expect(virtRxConfig({ driver, clients: [], profile: "reference" }).defects.silentFullDrop).toBe(
      true,
    );
    expect(
      virtTxConfig({
        driver,
        clients: [],
        profile: "reference",
        defects: { oversizedUnitStalls: false },
      }).defects.oversizedUnitStalls,
    ).toBe(false);
  });

  it("rejects a 128-byte begin string (no room for the NUL)", () => {
    expect(codeOf(() => virtTxConfig({ driver, clients: [], beginStr: "x".repeat(128) }))).toBe(
      "BAD_BEGIN_STR",
    );
    expect(codeOf(() => virtTxConfig({ driver, clients: [], beginStr: "x".repeat(127) }))).toBe(
      undefined,
    );
  });

  it("rejects a client name of 64 bytes, duplicate channels and more than 64 clients", () => {
    expect(
      codeOf(() => virtTxConfig({ driver, clients: [{ ...client(1), name: "n".repeat(64) }] })),
    ).toBe("BAD_CLIENT_NAME");
    expect(codeOf(() => virtTxConfig({ driver, clients: [client(0)] }))).toBe("BAD_CHANNEL");
    expect(codeOf(() => virtTxConfig({ driver, clients: [client(63)] }))).toBe("BAD_CHANNEL");
    const many = Array.from({ length: 65 }, () => client(1).conn);
    expect(codeOf(() => virtRxConfig({ driver, clients: many }))).toBe("BAD_CLIENT_COUNT");
  });

  it("rejects a digit as switch or terminator character", () => {
    expect(codeOf(() => virtRxConfig({ driver, clients: [], switchChar: 0x31 }))).toBe(
      "BAD_SWITCH_CHAR",
    );
    expect(codeOf(() => virtRxConfig({ driver, clients: [], terminateNumChar: 0x1c }))).toBe(
      "BAD_SWITCH_CHAR",
    );
  });
});
