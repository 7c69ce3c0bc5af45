/** A guest's wire bytes by provenance, read from the run's store, equal its plain records filtered. */
import { tagOrigin } from "@vmmux/sddf-queues";
import { expect, test } from "vitest";
import { wireOf } from "./metrics.js";
import { runScenario } from "./run.js";
import { syntheticScenario } from "./testing/synthetic.js";

test("wireOf gives one origin's records in wire order", () => {
  const run = runScenario(
    syntheticScenario({
      guests: [
        { output: [[0.001, "one\r\n".repeat(5)]] },
        { output: [[0.001, "two\r\n".repeat(5)]] },
      ],
      knobs: { durationLimit: 0.5 },
    }),
  );
  for (const origin of [1, 2]) {
    const mine = wireOf(run, origin);
    expect(mine.length).toBeGreaterThan(20);
    expect(mine).toEqual(run.wire.filter((w) => tagOrigin(w.tag) === origin));
  }
});
