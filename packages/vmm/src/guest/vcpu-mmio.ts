import type { AccessWidth, VcpuContext } from "@vmmux/microkit-pd";
import type { GuestMmio, GuestStep } from "@vmmux/virtio-console";

/** Device register accesses as loads/stores that trap to the VMM (stage-2 data aborts). */
export class VcpuMmio implements GuestMmio {
  constructor(private readonly vcpu: VcpuContext) {}

  *read(address: number, width: AccessWidth): GuestStep<number> {
    return yield* this.vcpu.mmioRead(address, width);
  }

  *write(address: number, width: AccessWidth, value: number): GuestStep<void> {
    yield* this.vcpu.mmioWrite(address, width, value);
  }
}
