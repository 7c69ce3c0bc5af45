/**
 * Why a VMM's console is stranded, for the no-lost-wake-up oracle (DESIGN.md oracle 7) when the
 * waiting producer is libvmm's console: the defect that bit, read from the console's findings
 * (`VmmObservation.consoleFindings`), so a wait the missing re-check caused is not blamed on the
 * ignored TX-channel signal, and the reverse.
 */
import type { RunResult } from "../run.js";

const T8 =
  " (libvmm's console requested virt_tx's signal without re-checking the free space, and virt_tx drained the queue between its check and the request, sddf-serial §3.3 T8)";
const L13 = " (libvmm's console ignores the TX-channel signal under reference, virtio §4.8 L13)";

/**
 * The reason to append to a stranded wait of `producer` (`<pd>'s console`), or "" when it is not
 * a console or the run is hardened. A result without console findings (made by hand) keeps the
 * profile's reading: under reference the signal is ignored.
 */
export function consoleWaitCause(run: RunResult, producer: string): string {
  if (run.profile !== "reference" || !producer.endsWith("'s console")) return "";
  const g = run.guests.find((x) => producer === `${x.pd}'s console`);
  const found = g?.vmm?.consoleFindings;
  if (found === undefined) return L13;
  if ((found.txNoRecheck ?? 0) > 0) return T8;
  if ((found.txSignalIgnored ?? 0) > 0) return L13;
  return "";
}
