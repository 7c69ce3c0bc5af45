/**
 * The `expect` block of a scenario (DESIGN.md "Oracles"): each oracle's expected outcome and
 * the per-guest expectations the progress oracle holds a run to.
 */
import { z } from "zod";

/** The oracles by name, in the order `vmmux check` prints them. */
export const oracleName = z.enum([
  "integrity",
  "routing",
  "interleaving",
  "determinism",
  "progress",
  "isolation",
  "wakeups",
  "fidelity",
  "input",
]);

/** The block's schema over the scenario's guest-name and seconds schemas. */
export function expectationSchemas(guestName: z.ZodString, seconds: z.ZodNumber) {
  const guestExpectation = z.strictObject({
    /** Every byte the guest wrote reached the wire. */
    complete: z.boolean().optional(),
    firstByteBefore: seconds.optional(),
    /** The guest's first byte comes after this; a starvation that ends by then is expected. */
    firstByteAfter: seconds.optional(),
    maxGap: seconds.optional(),
  });
  const expectations = z.strictObject({
    /** Expected oracle outcome; a predicted `violation` under `reference` is a finding, not a failure. */
    oracles: z.partialRecord(oracleName, z.enum(["pass", "violation"])).optional(),
    guests: z.record(guestName, guestExpectation).optional(),
  });
  return { guestExpectation, expectations };
}
