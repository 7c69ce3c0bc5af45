/**
 * Where in a scenario document a problem is: the line of a field (or of its nearest existing
 * ancestor) and the field's name as messages print it, and which of zod's issues to show.
 */
import { findNodeAtLocation, type Node as JsonNode } from "jsonc-parser";
import type { z } from "zod";

export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** `guests[1].trace`, `knobs.pds.guest1`: how a field is named in messages. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

export function locator(text: string, root: JsonNode | undefined) {
  return (path: readonly PropertyKey[]): number => {
    if (root === undefined) return 1;
    const keys = path.filter((k): k is string | number => typeof k !== "symbol");
    for (let n = keys.length; n >= 0; n--) {
      const node = findNodeAtLocation(root, keys.slice(0, n));
      if (node !== undefined) {
        // For an object member, point at its key, where a reader looks for it.
        const at = node.parent?.type === "property" ? node.parent.offset : node.offset;
        return lineAt(text, at);
      }
    }
    return 1;
  };
}

/**
 * The issue to show: an unknown key at the key itself; for a value that matches no branch
 * of a union, the deepest issue of the branch that got furthest (the list form of
 * `keyboard` with a bad `at`, rather than "invalid input" at `keyboard`).
 */
export function mostSpecific(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string } {
  if (issue.code === "unrecognized_keys") {
    return { path: [...issue.path, issue.keys[0]!], message: issue.message };
  }
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    let best: { path: PropertyKey[]; message: string } | undefined;
    for (const branch of issue.errors) {
      const first = branch[0];
      if (first === undefined) continue;
      const inner = mostSpecific(first);
      if (best === undefined || inner.path.length > best.path.length) best = inner;
    }
    if (best !== undefined && best.path.length > 0) {
      return { path: [...issue.path, ...best.path], message: best.message };
    }
  }
  return { path: issue.path, message: issue.message };
}
