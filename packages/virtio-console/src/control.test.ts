import { describe, expect, it } from "vitest";
import { BAD_PORT_ID, ControlEvent } from "./constants.js";
import { decodeControl, encodeControl } from "./control.js";
import { ConsoleError } from "./errors.js";

describe("control message codec", () => {
  it("encodes DEVICE_READY as the 8-byte little-endian header Linux sends", () => {
    const bytes = encodeControl({ id: BAD_PORT_ID, event: ControlEvent.DEVICE_READY, value: 1 });
    expect([...bytes]).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0]);
  });

  it("round-trips RESIZE with cols before rows and PORT_NAME without a NUL", () => {
    const resize = { id: 0, event: ControlEvent.RESIZE, value: 0, size: { cols: 132, rows: 43 } };
    const encoded = encodeControl(resize);
    expect(encoded.length).toBe(12);
    expect(decodeControl(encoded)).toEqual(resize);
    const named = encodeControl({ id: 2, event: ControlEvent.PORT_NAME, value: 1, name: "hvc1" });
    const withNul = new Uint8Array(named.length + 1);
    withNul.set(named);
    expect(decodeControl(withNul).name).toBe("hvc1");
  });

  it("rejects a short buffer and an undefined event with typed errors", () => {
    expect(() => decodeControl(new Uint8Array(7))).toThrow(ConsoleError);
    const bad = encodeControl({ id: 0, event: ControlEvent.PORT_OPEN, value: 1 });
    bad[4] = 9;
    try {
      decodeControl(bad);
      expect.unreachable();
    } catch (error) {
      expect((error as ConsoleError).code).toBe("control-event");
      expect((error as ConsoleError).clause).toMatch(/§5\.3\.6\.2/);
    }
  });
});
