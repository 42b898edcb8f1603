// The movement use cases: receipts, sales, adjustments, inbound, transfers,
// returns and quality checks. Each validates, converts units, and hands one
// MovementSpec to the runner.
import { AppError } from '../../../platform/errors.js';
import { Checker, LIMITS } from './validation.js';
import { readTransfer, recordTransfer } from '../store/transfers.js';
import type { Channel } from '../domain/shared.js';
import { deltaOf } from '../domain/stock/stockItem.js';
import type { WriteOffKind } from '../domain/stock/stockItem.js';
import type { Catalog, QuantityInput } from './catalog.js';
import type { Caller } from './caller.js';
import type { MovementOutcome, MovementResult, MovementRunner } from './movements.js';
import type { StockLevelView } from './views.js';
import type pg from 'pg';

type Common = { movementId: string; sku: string; locationId: string; quantity: number; unit: string };

export type ReceiveInput = Common & { reference: string; channel: Channel | null; expectedMovementId?: string };
export type SaleInput = Common & { channel: Channel | null; reference: string; occurredAt: Date | null };
export type AdjustmentKind = 'CYCLE_COUNT' | WriteOffKind | 'SENSOR';
export type AdjustInput = Common & {
  kind: AdjustmentKind | null;
  delta: number;
  reason: string;
  channel: Channel | null;
  occurredAt: Date | null;
};
export type ExpectInput = Common & { reference: string; expectedAt: Date | null };
export type DispatchInput = {
  transferId: string;
  sku: string;
  fromLocationId: string;
  toLocationId: string;
  quantity: number;
  unit: string;
  reference: string;
  reason: string;
};
export type ReceiveTransferInput = {
  movementId: string;
  transferId: string;
  quantity: number;
  unit: string;
  reason: string;
};
export type ReturnInput = Common & { channel: Channel | null; soldAt: Date | null; reference: string; reason: string };
export type QualityCheckInput = Common & { passed: boolean | null; reason: string };

export type AdjustResult = MovementResult & { difference: number };
export type DispatchResult = {
  transferId: string;
  source: StockLevelView;
  destination: StockLevelView;
  baseQuantity: number;
};
export type ReceiveTransferResult = MovementResult & { shortage: number };
export type ReturnResult = MovementResult & { quarantined: boolean };

/** Clock skew tolerated on caller-sent instants. */
const SKEW_MS = 5 * 60 * 1000;
const MAX_BACKDATE_MS = 366 * 24 * 3600 * 1000;

const fieldsOf = (quantity = 'quantity', sku = 'sku', locationId = 'location_id') => ({
  sku,
  locationId,
  quantity,
  unit: 'unit',
});

const checkCommon = (c: Checker, i: Common, o: { zeroQuantity?: boolean } = {}) => {
  c.id('movement_id', i.movementId);
  c.key('sku', i.sku);
  c.key('location_id', i.locationId);
  if (o.zeroQuantity === true && i.quantity === 0) return;
  c.quantity('quantity', i.quantity);
};

const checkPast = (c: Checker, field: string, at: Date | null, now: number) => {
  if (at === null) return;
  if (!(at.getTime() <= now + SKEW_MS)) c.add(field, 'must not be in the future');
  else if (now - at.getTime() > MAX_BACKDATE_MS) c.add(field, 'at most a year ago');
};

export const createStockMovements = (deps: {
  pool: pg.Pool;
  catalog: Catalog;
  runner: MovementRunner;
  now?: () => number;
}) => {
  const { catalog, runner } = deps;
  const now = deps.now ?? Date.now;
  const base = async (caller: Caller, q: QuantityInput): Promise<number> =>
    (await catalog.toBase(caller.tenantId, [q]))[0] as number;
  const single = (i: Common, quantity = i.quantity, field = 'quantity'): QuantityInput => ({
    sku: i.sku,
    locationId: i.locationId,
    quantity,
    unit: i.unit,
    fields: fieldsOf(field),
  });
  const result =
    (movementId: string, baseQuantity: number) =>
    (levels: StockLevelView[]): MovementResult => ({
      movementId,
      level: levels[0] as StockLevelView,
      baseQuantity,
    });

  const receive = async (caller: Caller, input: ReceiveInput): Promise<MovementResult> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reference', input.reference);
    if (input.expectedMovementId !== undefined && input.expectedMovementId !== '')
      c.id('expected_movement_id', input.expectedMovementId);
    c.done();
    const q = await base(caller, single(input));
    const expectationId = input.expectedMovementId === '' ? undefined : input.expectedMovementId;
    const out = await runner.run(caller, {
      command: 'receive',
      scope: 'movement',
      id: input.movementId,
      request: input,
      channel: input.channel,
      occurredAt: null,
      items: [
        {
          key: input,
          command: () => ({
            type: 'ReceiveStock',
            data: {
              movementId: input.movementId,
              quantity: q,
              unit: input.unit,
              unitQuantity: input.quantity,
              reference: input.reference,
              ...(expectationId === undefined ? {} : { expectationId }),
            },
          }),
        },
      ],
      answer: result(input.movementId, q),
    });
    return unwrapOrThrow(out);
  };

  const sale = async (caller: Caller, input: SaleInput): Promise<MovementOutcome<MovementResult>> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reference', input.reference);
    checkPast(c, 'occurred_at', input.occurredAt, now());
    c.done();
    const q = await base(caller, single(input));
    return runner.run(caller, {
      command: 'sale',
      scope: 'movement',
      id: input.movementId,
      request: input,
      channel: input.channel ?? 'POS',
      occurredAt: input.occurredAt,
      items: [
        {
          key: input,
          command: (_s, _now, policy) => ({
            type: 'SellStock',
            data: {
              movementId: input.movementId,
              quantity: q,
              unit: input.unit,
              unitQuantity: input.quantity,
              reference: input.reference,
              safetyStock: policy.safetyStock,
            },
          }),
        },
      ],
      answer: result(input.movementId, q),
    });
  };

  const adjust = async (caller: Caller, input: AdjustInput): Promise<MovementOutcome<AdjustResult>> => {
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
    return runner.run(caller, {
      command: 'adjust',
      scope: 'movement',
      id: input.movementId,
      request: input,
      channel: input.channel,
      occurredAt: input.occurredAt,
      items: [
        {
          key: input,
          command: () => {
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
        },
      ],
      answer: (levels, events) => {
        const e = events[0]?.[0];
        const difference = e === undefined ? 0 : (deltaOf(e).onHand ?? 0);
        return { ...result(input.movementId, q)(levels), difference };
      },
    });
  };

  const expect = async (caller: Caller, input: ExpectInput): Promise<MovementResult> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reference', input.reference);
    c.done();
    const q = await base(caller, single(input));
    const out = await runner.run(caller, {
      command: 'expect',
      scope: 'movement',
      id: input.movementId,
      request: input,
      channel: null,
      occurredAt: null,
      items: [
        {
          key: input,
          command: () => ({
            type: 'ExpectStock',
            data: {
              movementId: input.movementId,
              quantity: q,
              unit: input.unit,
              unitQuantity: input.quantity,
              reference: input.reference,
              expectedAt: input.expectedAt?.toISOString() ?? null,
            },
          }),
        },
      ],
      answer: result(input.movementId, q),
    });
    return unwrapOrThrow(out);
  };

  const dispatch = async (caller: Caller, input: DispatchInput): Promise<MovementOutcome<DispatchResult>> => {
    const c = new Checker();
    c.id('transfer_id', input.transferId);
    c.key('sku', input.sku);
    c.key('from_location_id', input.fromLocationId);
    c.key('to_location_id', input.toLocationId);
    if (input.fromLocationId === input.toLocationId && input.fromLocationId !== '')
      c.add('to_location_id', 'must differ from from_location_id');
    c.quantity('quantity', input.quantity);
    c.text('reference', input.reference);
    c.text('reason', input.reason);
    c.done();
    const [q] = (await catalog.toBase(caller.tenantId, [
      {
        sku: input.sku,
        locationId: input.fromLocationId,
        quantity: input.quantity,
        unit: input.unit,
        fields: fieldsOf('quantity', 'sku', 'from_location_id'),
      },
      {
        sku: input.sku,
        locationId: input.toLocationId,
        quantity: input.quantity,
        unit: input.unit,
        fields: fieldsOf('quantity', 'sku', 'to_location_id'),
      },
    ])) as [number, number];
    const sent = { transferId: input.transferId, unit: input.unit, unitQuantity: input.quantity, quantity: q };
    return runner.run(caller, {
      command: 'dispatch',
      scope: 'transfer',
      id: input.transferId,
      request: input,
      channel: null,
      occurredAt: null,
      items: [
        {
          key: { sku: input.sku, locationId: input.fromLocationId },
          command: (_s, _now, policy) => ({
            type: 'DispatchTransfer',
            data: {
              ...sent,
              toLocationId: input.toLocationId,
              reference: input.reference,
              reason: input.reason,
              safetyStock: policy.safetyStock,
            },
          }),
        },
        {
          key: { sku: input.sku, locationId: input.toLocationId },
          command: () => ({
            type: 'ExpectTransfer',
            data: { transferId: input.transferId, fromLocationId: input.fromLocationId, quantity: q },
          }),
        },
      ],
      alsoWrite: (client, at) => recordTransfer(client, caller.tenantId, { ...input, dispatchedAt: at }),
      answer: (levels) => ({
        transferId: input.transferId,
        source: levels[0] as StockLevelView,
        destination: levels[1] as StockLevelView,
        baseQuantity: q,
      }),
    });
  };

  const receiveTransfer = async (
    caller: Caller,
    input: ReceiveTransferInput,
  ): Promise<MovementOutcome<ReceiveTransferResult>> => {
    const c = new Checker();
    c.id('movement_id', input.movementId);
    c.id('transfer_id', input.transferId);
    if (!(Number.isSafeInteger(input.quantity) && input.quantity >= 0))
      c.add('quantity', 'what arrived: a whole number, 0 or more');
    c.text('reason', input.reason);
    c.done();
    const transfer = await readTransfer(deps.pool, caller.tenantId, input.transferId);
    if (transfer === null) {
      throw new AppError('NOT_FOUND', `transfer "${input.transferId}" was never dispatched`, {
        reason: 'TRANSFER_NOT_FOUND',
        metadata: { transfer_id: input.transferId },
      });
    }
    caller.authorize?.({ locations: [transfer.toLocationId] });
    const key = { sku: transfer.sku, locationId: transfer.toLocationId };
    const q = await base(caller, {
      ...key,
      quantity: input.quantity,
      unit: input.unit,
      fields: fieldsOf('quantity', 'transfer_id', 'transfer_id'),
    });
    return runner.run(caller, {
      command: 'receive-transfer',
      scope: 'movement',
      id: input.movementId,
      request: input,
      channel: null,
      occurredAt: null,
      items: [
        {
          key,
          command: () => ({
            type: 'ReceiveTransfer',
            data: {
              movementId: input.movementId,
              transferId: input.transferId,
              received: q,
              unit: input.unit,
              unitQuantity: input.quantity,
              reason: input.reason,
            },
          }),
        },
      ],
      answer: (levels, events) => {
        const e = events[0]?.[0];
        const shortage = e?.type === 'TransferReceived' ? e.data.shortage : 0;
        return { movementId: input.movementId, level: levels[0] as StockLevelView, baseQuantity: q, shortage };
      },
    });
  };

  const recordReturn = async (caller: Caller, input: ReturnInput): Promise<MovementOutcome<ReturnResult>> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reference', input.reference);
    c.text('reason', input.reason);
    if (input.soldAt === null)
      c.add('sold_at', 'required: when the goods were sold (the return window counts from it)');
    else if (!(input.soldAt.getTime() <= now() + SKEW_MS)) c.add('sold_at', 'must not be in the future');
    c.done();
    const q = await base(caller, single(input));
    return runner.run(caller, {
      command: 'return',
      scope: 'movement',
      id: input.movementId,
      request: input,
      channel: input.channel,
      occurredAt: null,
      items: [
        {
          key: input,
          command: (_s, at, policy) => ({
            type: 'AcceptReturn',
            data: {
              movementId: input.movementId,
              quantity: q,
              unit: input.unit,
              unitQuantity: input.quantity,
              reference: input.reference,
              reason: input.reason,
              soldAt: (input.soldAt as Date).toISOString(),
              now: at.toISOString(),
              returnWindowDays: policy.returnWindowDays,
              qualityCheckRequired: policy.qualityCheckRequired,
            },
          }),
        },
      ],
      answer: (levels, events) => {
        const e = events[0]?.[0];
        return {
          ...result(input.movementId, q)(levels),
          quarantined: e?.type === 'StockReturned' && e.data.quarantined,
        };
      },
    });
  };

  const qualityCheck = async (caller: Caller, input: QualityCheckInput): Promise<MovementOutcome<MovementResult>> => {
    const c = new Checker();
    checkCommon(c, input);
    c.text('reason', input.reason);
    if (input.passed === null) c.add('outcome', 'required: QUALITY_OUTCOME_PASSED or QUALITY_OUTCOME_FAILED');
    c.done();
    const q = await base(caller, single(input));
    return runner.run(caller, {
      command: 'quality-check',
      scope: 'movement',
      id: input.movementId,
      request: input,
      channel: null,
      occurredAt: null,
      items: [
        {
          key: input,
          command: () => ({
            type: 'CompleteQualityCheck',
            data: {
              movementId: input.movementId,
              quantity: q,
              unit: input.unit,
              unitQuantity: input.quantity,
              passed: input.passed as boolean,
              reason: input.reason,
            },
          }),
        },
      ],
      answer: result(input.movementId, q),
    });
  };

  return { receive, sale, adjust, expect, dispatch, receiveTransfer, recordReturn, qualityCheck };
};

/** Receipts and expectations refuse only when the receipt names an expectation that is not open. */
const unwrapOrThrow = (out: MovementOutcome<MovementResult>): MovementResult => {
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

export type StockMovements = ReturnType<typeof createStockMovements>;
