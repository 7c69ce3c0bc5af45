import { work } from "@vmmux/microkit-pd";
import { ManualPd } from "@vmmux/microkit-pd/testing";
import { expect, test } from "vitest";

test("toolchain resolves sibling sources and test entry points", () => {
  const pd = new ManualPd("p", { memory: { q: { size: 16, perms: "r" } } });
  expect(work("copy", 2)).toEqual({ kind: "copy", units: 2 });
  expect(() => pd.memory("q").store8(0, 1)).toThrow(/read-only/);
});
