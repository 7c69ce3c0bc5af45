/**
 * A runnable system for a scenario test: a description built in code and the kernel-operation
 * costs of the reference's worked traces (all 0, microkit reference §3.5).
 */
import { zeroKernelCosts } from "../runtime/cost-model.js";
import { System, type SystemOptions } from "../runtime/system.js";
import { describeSystem, type SystemSpec } from "./describe-system.js";

export function scenarioSystem(
  spec: SystemSpec,
  programs: SystemOptions["programs"],
  extra: Partial<SystemOptions> = {},
): System {
  return new System(describeSystem(spec), { costModel: zeroKernelCosts, programs, ...extra });
}
