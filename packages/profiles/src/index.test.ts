import { describe, expect, it } from "vitest";
import {
  chooseBehaviour,
  DEFAULT_PROFILE,
  defectSwitchesFor,
  isProfile,
  PROFILES,
} from "./index.js";

describe("profiles", () => {
  it("names exactly the two profiles, hardened by default", () => {
    expect(PROFILES).toEqual(["reference", "hardened"]);
    expect(DEFAULT_PROFILE).toBe("hardened");
    expect(PROFILES.every(isProfile)).toBe(true);
    for (const other of ["Reference", "", "strict", 0, null, undefined])
      expect(isProfile(other)).toBe(false);
  });

  it("turns every defect on under reference and off under hardened", () => {
    const names = ["stall", "drop"] as const;
    expect(defectSwitchesFor("reference", names)).toEqual({ stall: true, drop: true });
    expect(defectSwitchesFor("hardened", names)).toEqual({ stall: false, drop: false });
  });

  it("chooses the defective behaviour only when the defect is on", () => {
    const defective = () => "real";
    const fixed = () => "fixed";
    expect(chooseBehaviour(true, defective, fixed)()).toBe("real");
    expect(chooseBehaviour(false, defective, fixed)()).toBe("fixed");
  });
});
