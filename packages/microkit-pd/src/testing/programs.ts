/**
 * Small PD programs for tests: fill in the entry points a test does not care about.
 */
import type {
  FaultMessage,
  FaultReply,
  MessageInfo,
  PdContext,
  PdProgram,
  PdStep,
} from "../program.js";

export interface ProgramParts {
  init?(pd: PdContext): PdStep;
  notified?(ch: number, pd: PdContext): PdStep;
  protected?(ch: number, msg: MessageInfo, pd: PdContext): PdStep<MessageInfo>;
  fault?(child: number, msg: FaultMessage, pd: PdContext): PdStep<FaultReply>;
}

function* nothing(): PdStep {}

/** A `PdProgram` from the given parts; missing `init`/`notified` do nothing. */
export function pdProgram(parts: ProgramParts): PdProgram {
  const program: PdProgram = {
    init: (pd) => (parts.init ? parts.init(pd) : nothing()),
    notified: (ch, pd) => (parts.notified ? parts.notified(ch, pd) : nothing()),
  };
  if (parts.protected) program.protected = parts.protected.bind(parts);
  if (parts.fault) program.fault = parts.fault.bind(parts);
  return program;
}
