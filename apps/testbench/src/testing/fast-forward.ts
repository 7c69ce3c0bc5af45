/**
 * Whether the Microkit runtime takes the `fastForward` option (DESIGN.md "Cost follows
 * work"): a System is constructed with options that note which of them are read. Until the
 * runtime reads it, the fast-forward equivalence property has nothing to compare and skips.
 */
import { System } from "@vmmux/microkit-pd";
import { scenarioSystem } from "../system/build.js";
import { syntheticScenario } from "./synthetic.js";

let known: boolean | undefined;

export function runtimeHasFastForward(): boolean {
  if (known !== undefined) return known;
  const read = new Set<string | symbol>();
  const options = new Proxy(
    { programs: {}, recordEvents: false, fastForward: true },
    {
      get(target, key, receiver) {
        read.add(key);
        return Reflect.get(target, key, receiver);
      },
    },
  );
  const description = scenarioSystem(
    syntheticScenario({ guests: [{ output: [] }, { output: [] }], kind: "vm" }),
  );
  try {
    const sys = new System(description, options);
    sys.runFor(1000);
  } catch {
    // No programs were given: construction stops at the first PD, after the kernel exists.
  }
  known = read.has("fastForward");
  return known;
}
