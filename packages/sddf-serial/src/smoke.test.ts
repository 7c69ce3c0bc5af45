import { work } from "@vmmux/microkit-pd";
import { expect, test } from "vitest";

test("toolchain resolves sibling sources", () => {
  expect(work("copy", 2)).toEqual({ kind: "copy", units: 2 });
});
