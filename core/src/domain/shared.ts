// Types shared by every decider. No I/O, no clock, no framework.

export const CHANNELS = ['ECOMMERCE', 'POS', 'B2B', 'MARKETPLACE'] as const;
export type Channel = (typeof CHANNELS)[number];

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
