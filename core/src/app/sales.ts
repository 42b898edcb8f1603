// RecordSale and AdjustStock: units leaving the shelf by a sale (never beyond available), and
// corrections by a count, a write-off or a sensor.
import { Checker, LIMITS } from './validation.js';
import { deltaOf } from '../domain/stock/stockItem.js';
import { checkCommon, checkPast } from './movementKit.js';
import type { Channel } from '../domain/shared.js';
import type { WriteOffKind } from '../domain/stock/stockItem.js';
import type { Caller } from './caller.js';
import type { Common, MovementKit } from './movementKit.js';
import type { MovementResult } from './movements.js';
import type { ItemRefusal, Outcome } from './outcome.js';

export type SaleInput = Common & { channel: Channel | null; reference: string; occurredAt: Date | null };
export type AdjustmentKind = 'CYCLE_COUNT' | WriteOffKind | 'SENSOR';
export type AdjustInput = Common & {
  kind: AdjustmentKind | null;
  delta: number;
  reason: string;
  channel: Channel | null;
  occurredAt: Date | null;
};
export type AdjustResult = MovementResult & { difference: number };

export const sales = (kit: MovementKit) => {
  const { runItem, sent, base, single, result, now } = kit;

  const sale = async (caller: Caller, input: SaleInput): Promise<Outcome<MovementResult, ItemRefusal>> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reference', input.reference);
    checkPast(c, 'occurred_at', input.occurredAt, now());
    c.done();
    const q = await base(caller, single(input));
    return runItem(caller, input, {
      command: 'sale',
      channel: input.channel ?? 'POS',
      occurredAt: input.occurredAt,
      decide: (_s, _now, policy) => ({
        type: 'SellStock',
        data: {
          ...sent(input, q),
          reference: input.reference,
          safetyStock: policy.safetyStock,
        },
      }),
      answer: result(input.movementId, q),
    });
  };

  const adjust = async (caller: Caller, input: AdjustInput): Promise<Outcome<AdjustResult, ItemRefusal>> => {
    const c = new Checker();
    c.text('reason', input.reason);
    checkPast(c, 'occurred_at', input.occurredAt, now());
    const sensor = input.kind === 'SENSOR';
    if (input.kind === null) c.add('kind', 'required: ADJUSTMENT_KIND_CYCLE_COUNT, _DAMAGE, _SHRINKAGE or _SENSOR');
    if (sensor) {
      checkCommon(c, { ...input, quantity: 1 });
      if (input.quantity !== 0) c.add('quantity', 'not used for a sensor adjustment; send delta');
      if (!Number.isSafeInteger(input.delta) || input.delta === 0) c.add('delta', 'a non-zero whole number, e.g. -2');
      else if (Math.abs(input.delta) > LIMITS.maxQuantity) c.add('delta', `at most ${LIMITS.maxQuantity} either way`);
    } else {
      checkCommon(c, input, { zeroQuantity: input.kind === 'CYCLE_COUNT' });
      if (input.delta !== 0) c.add('delta', 'only for ADJUSTMENT_KIND_SENSOR; send quantity');
    }
    c.done();
    const kind = input.kind as AdjustmentKind;
    const q = await base(caller, sensor ? single(input, Math.abs(input.delta), 'delta') : single(input));
    const at = { movementId: input.movementId, unit: input.unit, reason: input.reason };
    return runItem(caller, input, {
      command: 'adjust',
      channel: input.channel,
      occurredAt: input.occurredAt,
      decide: () => {
        switch (kind) {
          case 'CYCLE_COUNT':
            return { type: 'CountStock', data: { ...at, counted: q, unitQuantity: input.quantity } };
          case 'SENSOR':
            return {
              type: 'ApplySensorDelta',
              data: { ...at, delta: Math.sign(input.delta) * q, unitQuantity: input.delta },
            };
          default:
            return { type: 'WriteOffStock', data: { ...at, kind, quantity: q, unitQuantity: input.quantity } };
        }
      },
      answer: (levels, events) => {
        const e = events[0]?.[0];
        const difference = e === undefined ? 0 : (deltaOf(e).onHand ?? 0);
        return { ...result(input.movementId, q)(levels), difference };
      },
    });
  };

  return { sale, adjust };
};
