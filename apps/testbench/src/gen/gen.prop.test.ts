// Every system `vmmux gen` can write is one the microkit tool accepts (no error, no unused
// region) and whose serial roles are the ones generated: N clients in the order added, the
// sizes asked for, sdfgen's channel ids (client rx 0, tx 1; virtualiser k + 1), the driver's TX
// data doubled exactly when colour is on. Seeded; `VMMUX_PROP_RUNS` raises the run count.
import { parseSystemDescription } from "@vmmux/microkit-pd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { discoverSerialRoles } from "../roles.js";
import { type GenOptions, generateSerialSystem, MAX_GEN_CLIENTS } from "./serial.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 60);

const options: fc.Arbitrary<GenOptions> = fc.record({
  kind: fc.constantFrom("clients" as const, "vms" as const),
  count: fc.integer({ min: 1, max: MAX_GEN_CLIENTS }),
  colour: fc.boolean(),
  dataSize: fc.integer({ min: 12, max: 22 }).map((bits) => 1n << BigInt(bits)),
  queueSize: fc.integer({ min: 12, max: 16 }).map((bits) => 1n << BigInt(bits)),
  guestRam: fc.integer({ min: 1, max: 64 }).map((mib) => BigInt(mib) << 20n),
  traceTimers: fc.boolean(),
});

describe("generated systems", () => {
  it("validate and give back the roles they were generated with", () => {
    fc.assert(
      fc.property(options, (o) => {
        const { system, warnings } = parseSystemDescription(generateSerialSystem(o));
        expect(warnings).toEqual([]);
        const roles = discoverSerialRoles(system);
        expect(roles.clients).toHaveLength(o.count);
        expect(roles.idle).toEqual([]);
        expect(roles.driver.tx.dataSize).toBe(o.colour ? (o.dataSize ?? 0n) * 2n : o.dataSize);
        expect(roles.driver.rx?.dataSize).toBe(o.dataSize);
        roles.clients.forEach((c, k) => {
          expect(c.pd).toBe(o.kind === "vms" ? `CLIENT_VMM_${k}` : `client${k}`);
          expect(c.tx).toMatchObject({
            serverChannel: k + 1,
            clientChannel: 1,
            dataSize: o.dataSize,
          });
          expect(c.rx).toMatchObject({
            serverChannel: k + 1,
            clientChannel: 0,
            dataSize: o.dataSize,
          });
          expect(c.tx.queue).toContain("/serial/queue/");
          expect(c.kind).toBe(o.kind === "vms" ? "vmm" : "sddf-client");
          expect(c.timer !== undefined).toBe(o.kind === "clients" && o.traceTimers === true);
        });
      }),
      { numRuns, seed: 0x9e4 },
    );
  });
});
