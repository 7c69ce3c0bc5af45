/**
 * The fidelity profiles of DESIGN.md "Two fidelity profiles", and the one vocabulary every
 * package uses for them: a **defect** is a real component's behaviour (from the references)
 * that the `hardened` profile fixes; each defect is a named switch, and the two behaviours of
 * a switch are separate functions or strategy objects chosen once, at construction.
 */

/** `reference` reproduces the real components, defects included; `hardened` fixes each defect. */
export type Profile = "reference" | "hardened";

/** Both profiles, `reference` first. */
export const PROFILES: readonly Profile[] = ["reference", "hardened"];

/** The profile a system runs when nothing says otherwise (DESIGN.md: `hardened` is the default). */
export const DEFAULT_PROFILE: Profile = "hardened";

/** Whether `value` names a profile. */
export function isProfile(value: unknown): value is Profile {
  return value === "reference" || value === "hardened";
}

/** For each named defect, whether the real (defective) behaviour is on. */
export type DefectSwitches<Name extends string> = Readonly<Record<Name, boolean>>;

/** The switches a profile implies: every defect on under `reference`, every one off under `hardened`. */
export function defectSwitchesFor<Name extends string>(
  profile: Profile,
  names: readonly Name[],
): DefectSwitches<Name> {
  const on = profile === "reference";
  return Object.fromEntries(names.map((name) => [name, on])) as DefectSwitches<Name>;
}

/**
 * Chooses one of a switch's two behaviours, once: `defective` when the defect is on (the real
 * component's behaviour), `fixed` otherwise. Call it at construction, never in a hot path.
 */
export function chooseBehaviour<T>(defectOn: boolean, defective: T, fixed: T): T {
  return defectOn ? defective : fixed;
}
