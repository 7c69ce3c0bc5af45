/**
 * Thread bodies and the contexts programs see, in three modules: {@link RuntimePdContext}
 * (pd-context.ts), the PD and monitor bodies (pd-body.ts), and the vCPU side (vcpu-context.ts).
 */
export { monitorBody, pdBody } from "./pd-body.js";
export {
  API_CALLS_PER_POINT,
  CallBound,
  type ChannelEndpoint,
  type ChildHandle,
  type PdWiring,
  RuntimePdContext,
  type VcpuHandle,
} from "./pd-context.js";
export { RuntimeVcpuContext, vcpuBody } from "./vcpu-context.js";
