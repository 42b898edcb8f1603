// ReceiveStock and ExpectStock: goods arriving, and goods announced (in transit until received).
// Neither can run short of stock; a receipt refuses only when it names an expectation not open.
import { AppError } from '../../../platform/errors.js';
import { Checker } from './validation.js';
import { checkCommon } from './movementKit.js';
import type { Channel } from '../domain/shared.js';
import type { Caller } from './caller.js';
import type { Common, MovementKit } from './movementKit.js';
import type { MovementResult } from './movements.js';
import type { ItemRefusal, Outcome } from './outcome.js';

export type ReceiveInput = Common & { reference: string; channel: Channel | null; expectedMovementId?: string };
export type ExpectInput = Common & { reference: string; expectedAt: Date | null };

export const receipts = (kit: MovementKit) => {
  const { runItem, sent, base, single, result } = kit;

  const receive = async (caller: Caller, input: ReceiveInput): Promise<MovementResult> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reference', input.reference);
    if (input.expectedMovementId !== undefined && input.expectedMovementId !== '')
      c.id('expected_movement_id', input.expectedMovementId);
    c.done();
    const q = await base(caller, single(input));
    const expectationId = input.expectedMovementId === '' ? undefined : input.expectedMovementId;
    const out = await runItem(caller, input, {
      command: 'receive',
      channel: input.channel,
      occurredAt: null,
      decide: () => ({
        type: 'ReceiveStock',
        data: {
          ...sent(input, q),
          reference: input.reference,
          ...(expectationId === undefined ? {} : { expectationId }),
        },
      }),
      answer: result(input.movementId, q),
    });
    return unwrapOrThrow(out);
  };

  const expect = async (caller: Caller, input: ExpectInput): Promise<MovementResult> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reference', input.reference);
    c.done();
    const q = await base(caller, single(input));
    const out = await runItem(caller, input, {
      command: 'expect',
      channel: null,
      occurredAt: null,
      decide: () => ({
        type: 'ExpectStock',
        data: {
          ...sent(input, q),
          reference: input.reference,
          expectedAt: input.expectedAt?.toISOString() ?? null,
        },
      }),
      answer: result(input.movementId, q),
    });
    return unwrapOrThrow(out);
  };

  return { receive, expect };
};

/** Receipts and expectations refuse only when the receipt names an expectation that is not open. */
const unwrapOrThrow = (out: Outcome<MovementResult, ItemRefusal>): MovementResult => {
  if (out.ok) return out.value;
  const r = out.refusal;
  if (r.reason === 'EXPECTATION_NOT_OPEN') {
    throw new AppError(
      'FAILED_PRECONDITION',
      `no open expectation "${r.expectationId}" for "${r.sku}" at "${r.locationId}"; announce it with ExpectStock or receive without expected_movement_id`,
      {
        reason: 'EXPECTATION_NOT_OPEN',
        metadata: { expected_movement_id: r.expectationId, sku: r.sku, location_id: r.locationId },
      },
    );
  }
  throw new AppError('INTERNAL', `unexpected refusal ${r.reason}`);
};
