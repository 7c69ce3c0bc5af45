/**
 * Planted serialiser defects, kept so the round-trip property keeps proving it can fail. Each is
 * a {@link DefaultAttributes} rule set passed through the serialiser's documented `defaults`
 * option: `period-dropped` leaves out every `period` (a period different from the budget is
 * lost); `notify-default-false` writes `notify` as if its default were false (an end with
 * `notify="false"` reads back as notifying).
 */
import {
  type DefaultAttributes,
  type SerialiseOptions,
  serialiseSystem,
  TOOL_DEFAULT_ATTRIBUTES,
} from "../sdf/serialise.js";
import type { SystemDescription } from "../sdf/types.js";

export type SerialiserBug = "notify-default-false" | "period-dropped";

const PLANTED: Record<SerialiserBug, DefaultAttributes> = {
  "period-dropped": { ...TOOL_DEFAULT_ATTRIBUTES, period: () => undefined },
  "notify-default-false": {
    ...TOOL_DEFAULT_ATTRIBUTES,
    notify: (notify) => (notify ? "true" : undefined),
  },
};

export function plantedSerialiser(
  bug: SerialiserBug,
): (system: SystemDescription, options?: SerialiseOptions) => string {
  return (system, options = {}) => serialiseSystem(system, { ...options, defaults: PLANTED[bug] });
}
