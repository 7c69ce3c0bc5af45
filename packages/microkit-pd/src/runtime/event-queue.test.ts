import { describe, expect, it } from "vitest";
import { EventQueue } from "./event-queue.js";

describe("EventQueue", () => {
  it("pops in time order and breaks ties by insertion order", () => {
    const q = new EventQueue();
    const fired: string[] = [];
    for (const [time, name] of [
      [5, "a"],
      [1, "b"],
      [5, "c"],
      [0, "d"],
      [1, "e"],
    ] as const) {
      q.push(time, () => fired.push(name));
    }
    while (q.size > 0) q.pop()!.fire();
    expect(fired).toEqual(["d", "b", "e", "a", "c"]);
  });

  it("skips cancelled events and counts only live ones; cancelling a fired event changes nothing", () => {
    const q = new EventQueue();
    const a = q.push(1, () => {});
    const b = q.push(2, () => {});
    q.push(3, () => {});
    q.cancel(b);
    expect(q.size).toBe(2);
    expect(q.pop()).toBe(a);
    q.cancel(a);
    expect(q.size).toBe(1);
    expect(q.pop()!.time).toBe(3);
    expect(q.pop()).toBeUndefined();
    expect(q.size).toBe(0);
  });
});
