/**
 * A device host for the recorded inert-tick property (ticks-recorded.prop.test.ts): each tick a
 * device arms with `atTick` writes trace records when it fires (one, and a second every third
 * tick), and, when `declared`, its `skip` writes the same records for the ticks it passes
 * (`InertTicks.tracesPassed`, `DeviceHost.traceAt`), each stamped with the tick's own time.
 */
import type { DeviceHost, InertTicks, TimerHandle } from "../program.js";

export function tracedTicks(host: DeviceHost, name: string, declared: boolean): DeviceHost {
  let n = 0;
  const records = (trace: (name: string, args: Record<string, unknown>) => void) => {
    const i = n++;
    trace(name, { n: i });
    if (i % 3 === 0) trace(`${name}.third`, { n: i, of: 3 });
  };
  const atTick = host.atTick;
  return {
    now: () => host.now(),
    at: (time, action) => host.at(time, action),
    cancel: (handle: TimerHandle) => host.cancel(handle),
    setIrqLevel: (irq, asserted) => host.setIrqLevel(irq, asserted),
    pulseIrq: (irq) => host.pulseIrq(irq),
    trace: (traceName, args) => host.trace(traceName, args),
    atTick:
      atTick === undefined
        ? undefined
        : (time, action, ticks) => {
            const fire = () => {
              records((r, args) => host.trace(r, args));
              action();
            };
            const traced: InertTicks = {
              inertUntil: () => ticks.inertUntil(),
              tickAt: (k) => ticks.tickAt(k),
              skip(k) {
                const traceAt = host.traceAt;
                for (let i = 0; i < k; i++) {
                  const t = ticks.tickAt(i);
                  if (traceAt !== undefined) records((r, args) => traceAt.call(host, t, r, args));
                  else n++;
                }
                ticks.skip(k);
              },
              tracesPassed: declared,
            };
            return atTick.call(host, time, fire, traced);
          },
  };
}
