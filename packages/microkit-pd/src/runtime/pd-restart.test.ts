/**
 * `microkit_pd_restart` / `microkit_pd_stop` (microkit reference §2.8): a child's fault goes to
 * its parent, which restarts it at its entry point: a fresh program instance (the factory runs
 * again) runs `init` and the event loop; the old entry point is abandoned. A stopped child
 * receives nothing until restarted; a bad child id is a debug print.
 */
import { describe, expect, it } from "vitest";
import type { PdProgram } from "../program.js";
import { work } from "../program.js";
import { describeSystem, pdProgram } from "../testing/index.js";
import { System } from "./system.js";

function build(parentProgram: PdProgram) {
  const starts: number[] = [];
  const seen: string[] = [];
  let instances = 0;
  const sys = new System(
    describeSystem({
      pds: [
        { name: "parent", priority: 50, children: [{ name: "child", priority: 10, id: 3 }] },
        { name: "peer", priority: 5 },
      ],
      channels: [
        [
          { pd: "peer", id: 0 },
          { pd: "child", id: 1 },
        ],
      ],
    }),
    {
      programs: {
        "parent.elf": parentProgram,
        "child.elf": () => {
          const instance = ++instances;
          return pdProgram({
            *init(pd) {
              starts.push(pd.now());
              yield work("us", 1);
            },
            *notified(ch, pd) {
              seen.push(`${instance}:${ch}@${pd.now()}`);
              yield work("us", 1);
              if (instance === 1) throw new Error("assert");
            },
          });
        },
        "peer.elf": pdProgram({
          *init(pd) {
            yield work("us", 20);
            pd.notify(0);
            yield work("us", 20);
            pd.notify(0);
          },
        }),
      },
    },
  );
  return { sys, starts, seen, instances: () => instances };
}

describe("microkit_pd_restart", () => {
  it("restarts a faulted child at init with a fresh program instance", () => {
    const faults: number[] = [];
    const { sys, starts, seen, instances } = build(
      pdProgram({
        *fault(child, _msg, pd) {
          faults.push(child);
          pd.pdRestart(child);
          return { resume: false };
        },
      }),
    );
    sys.runUntil(1_000_000);
    expect(faults).toEqual([3]);
    expect(instances()).toBe(2);
    expect(starts).toHaveLength(2);
    expect(seen.map((s) => s.split("@")[0])).toEqual(["1:1", "2:1"]);
    expect(sys.thread("child").state).not.toBe("dead");
  });

  it("without a restart the child stays stopped and sees nothing more", () => {
    const { sys, starts, seen } = build(
      pdProgram({
        *fault() {
          return { resume: false };
        },
      }),
    );
    sys.runUntil(1_000_000);
    expect(starts).toHaveLength(1);
    expect(seen.map((s) => s.split("@")[0])).toEqual(["1:1"]);
    expect(sys.thread("child").state).toBe("inactive");
  });

  it("a bad child id is a debug print", () => {
    const { sys } = build(
      pdProgram({
        *fault(_child, _msg, pd) {
          pd.pdRestart(9);
          return { resume: false };
        },
      }),
    );
    sys.runUntil(1_000_000);
    expect(
      sys.log.some(
        (e) => e.type === "debug" && e.message === "microkit_pd_restart: invalid child 9",
      ),
    ).toBe(true);
  });
});
