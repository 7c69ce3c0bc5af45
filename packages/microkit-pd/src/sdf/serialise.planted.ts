/**
 * Planted serialiser defects, kept so the round-trip property keeps proving it can fail:
 * - `notify-default-false`: believes `end@notify` defaults to `false` (§1.3 says `true`), so it
 *   drops `notify="false"` and a one-way channel comes back two-way;
 * - `period-dropped`: forgets `period`, so a sporadic budget/period PD comes back round-robin.
 */
import type { SerialiseOptions, SerialiserBug } from "./serialise.js";
import { serialiseWithBug } from "./serialise.js";
import type { SystemDescription } from "./types.js";

export type { SerialiserBug };

export function plantedSerialiser(
  bug: SerialiserBug,
): (system: SystemDescription, options?: SerialiseOptions) => string {
  return (system, options = {}) => serialiseWithBug(system, options, bug);
}
