import { describe, expect, it } from "vitest";
import { PendingList } from "./pending.js";

describe("virt_tx pending list (reference §5.1)", () => {
  it("is FIFO", () => {
    const list = new PendingList(3);
    list.push(2);
    list.push(0);
    expect(list.pop()).toBe(2);
    expect(list.pop()).toBe(0);
    expect(list.pop()).toBeUndefined();
  });

  it("ignores a push of a client that is already pending", () => {
    const list = new PendingList(2);
    list.push(1);
    list.push(1);
    expect(list.toArray()).toEqual([1]);
  });

  it("lets a popped client be pushed again, at the tail", () => {
    const list = new PendingList(3);
    list.push(0);
    list.push(1);
    expect(list.pop()).toBe(0);
    list.push(0);
    expect(list.toArray()).toEqual([1, 0]);
  });

  it("holds every client at once and wraps around its ring", () => {
    const list = new PendingList(64);
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 64; k++) list.push(k);
      expect(list.length).toBe(64);
      for (let k = 0; k < 64; k++) expect(list.pop()).toBe(k);
    }
  });
});
