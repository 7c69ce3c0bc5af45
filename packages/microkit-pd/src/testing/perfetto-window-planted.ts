/**
 * Planted defects of the windowed Perfetto export (runtime/perfetto-window.ts), kept so the
 * window property (perfetto-window.prop.test.ts) keeps proving it can fail. Each is a
 * {@link TraceWindow} whose `keeps` rule is off by one ns at an edge: `to-inclusive` keeps what
 * starts at `to` (a slice, instant or sample one past the window), `from-exclusive` drops a slice
 * that ends at `from`.
 */
import type { TraceEvent } from "../runtime/perfetto-builder.js";
import { type TimelineWindow, TraceWindow } from "../runtime/perfetto-window.js";

export type PlantedWindowBug = "from-exclusive" | "to-inclusive";

class ToInclusive extends TraceWindow {
  protected override keeps(start: number, end: number): boolean {
    return start <= this.to && end >= this.from;
  }
}

class FromExclusive extends TraceWindow {
  protected override keeps(start: number, end: number): boolean {
    return start < this.to && (end > this.from || (start === end && start === this.from));
  }
}

/** A trace window with `bug`. */
export function plantedTraceWindow(
  bug: PlantedWindowBug,
  window: TimelineWindow,
  out: (event: TraceEvent) => void,
): TraceWindow {
  return bug === "to-inclusive" ? new ToInclusive(window, out) : new FromExclusive(window, out);
}
