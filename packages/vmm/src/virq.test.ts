import { describe, expect, it } from "vitest";
import { VirqController } from "./virq.js";

function controller(semantics: "edge" | "level", line = { up: false }) {
  const injected: number[] = [];
  const c = new VirqController({ inject: (irq) => injected.push(irq) }, semantics);
  c.connect(74, () => line.up);
  return { c, injected, line };
}

describe("virtual IRQ delivery", () => {
  it("keeps one injection in flight: a raise before the EOI has no effect", () => {
    const { c, injected } = controller("edge");
    c.raise(74);
    c.raise(74);
    expect(injected).toEqual([74]);
    expect(c.counters.coalesced).toBe(1);
    c.eoi(74);
    c.raise(74);
    expect(injected).toEqual([74, 74]);
  });

  it("edge (libvmm): an event absorbed while in flight is not re-delivered on EOI", () => {
    const { c, injected, line } = controller("edge");
    c.raise(74);
    line.up = true;
    c.raise(74);
    c.eoi(74);
    expect(injected).toEqual([74]);
  });

  it("level (hardened): EOI re-injects while the device line is still asserted", () => {
    const { c, injected, line } = controller("level");
    c.raise(74);
    line.up = true;
    c.eoi(74);
    expect(injected).toEqual([74, 74]);
    line.up = false;
    c.eoi(74);
    expect(injected).toEqual([74, 74]);
    expect(c.counters.reinjected).toBe(1);
  });

  it("counts an EOI of an IRQ that is not in flight as spurious", () => {
    const { c } = controller("level");
    expect(c.eoi(74)).toBe(false);
    expect(c.counters.spuriousEoi).toBe(1);
  });
});
