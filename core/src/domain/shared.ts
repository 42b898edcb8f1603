// Types shared by every decider. No I/O, no clock, no framework.

// The channel list crosses processes (tokens, events), so it lives with the contracts; it is plain data.
export { CHANNELS } from '../../../contracts/channels.js';
export type { Channel } from '../../../contracts/channels.js';

/** A rule the code relies on was broken: a bug or corrupted state, never a business outcome. */
export type InvariantRule = 'LEVEL_WOULD_GO_NEGATIVE' | 'NON_POSITIVE_QUANTITY' | 'EVENT_DOES_NOT_FIT_STATE';

export class InvariantViolation extends Error {
  constructor(
    readonly rule: InvariantRule,
    detail: string,
  ) {
    super(`${rule}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

export const assertNever = (value: never): never => {
  throw new InvariantViolation('EVENT_DOES_NOT_FIT_STATE', `unhandled case ${JSON.stringify(value)}`);
};
