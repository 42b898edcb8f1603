// RecordReturn and CompleteQualityCheck: returned goods wait in quarantine (when the tenant's
// policy asks for a check) and re-enter available stock only once they pass.
import { Checker } from './validation.js';
import { checkCommon, SKEW_MS } from './movementKit.js';
import type { Channel } from '../domain/shared.js';
import type { Caller } from './caller.js';
import type { Common, MovementKit } from './movementKit.js';
import type { MovementResult } from './movements.js';
import type { ItemRefusal, Outcome } from './outcome.js';

export type ReturnInput = Common & { channel: Channel | null; soldAt: Date | null; reference: string; reason: string };
export type QualityCheckInput = Common & { passed: boolean | null; reason: string };
export type ReturnResult = MovementResult & { quarantined: boolean };

export const returns = (kit: MovementKit) => {
  const { runItem, sent, base, single, result, now } = kit;

  const recordReturn = async (caller: Caller, input: ReturnInput): Promise<Outcome<ReturnResult, ItemRefusal>> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reference', input.reference);
    c.text('reason', input.reason);
    if (input.soldAt === null)
      c.add('sold_at', 'required: when the goods were sold (the return window counts from it)');
    else if (!(input.soldAt.getTime() <= now() + SKEW_MS)) c.add('sold_at', 'must not be in the future');
    c.done();
    const q = await base(caller, single(input));
    return runItem(caller, input, {
      command: 'return',
      channel: input.channel,
      occurredAt: null,
      decide: (_s, at, policy) => ({
        type: 'AcceptReturn',
        data: {
          ...sent(input, q),
          reference: input.reference,
          reason: input.reason,
          soldAt: (input.soldAt as Date).toISOString(),
          now: at.toISOString(),
          returnWindowDays: policy.returnWindowDays,
          qualityCheckRequired: policy.qualityCheckRequired,
        },
      }),
      answer: (levels, events) => {
        const e = events[0]?.[0];
        return {
          ...result(input.movementId, q)(levels),
          quarantined: e?.type === 'StockReturned' && e.data.quarantined,
        };
      },
    });
  };

  const qualityCheck = async (
    caller: Caller,
    input: QualityCheckInput,
  ): Promise<Outcome<MovementResult, ItemRefusal>> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reason', input.reason);
    if (input.passed === null) c.add('outcome', 'required: QUALITY_OUTCOME_PASSED or QUALITY_OUTCOME_FAILED');
    c.done();
    const q = await base(caller, single(input));
    return runItem(caller, input, {
      command: 'quality-check',
      channel: null,
      occurredAt: null,
      decide: () => ({
        type: 'CompleteQualityCheck',
        data: {
          ...sent(input, q),
          passed: input.passed as boolean,
          reason: input.reason,
        },
      }),
      answer: result(input.movementId, q),
    });
  };

  return { recordReturn, qualityCheck };
};
