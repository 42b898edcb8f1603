// DispatchTransfer and ReceiveTransfer: units leave one location (in transit at the other) and
// arrive there later, possibly short. Where each transfer goes is written with its dispatch.
import { AppError } from '../../../platform/errors.js';
import { Checker } from './validation.js';
import { readTransfer, recordTransfer } from '../store/transfers.js';
import { fieldsOf } from './movementKit.js';
import type { Caller } from './caller.js';
import type { MovementKit } from './movementKit.js';
import type { MovementResult } from './movements.js';
import type { ItemRefusal, Outcome } from './outcome.js';
import type { StockLevelView } from './views.js';

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
export type DispatchResult = {
  transferId: string;
  source: StockLevelView;
  destination: StockLevelView;
  baseQuantity: number;
};
export type ReceiveTransferResult = MovementResult & { shortage: number };

export const transfers = (kit: MovementKit) => {
  const { run, base, catalog, pool } = kit;

  const dispatch = async (caller: Caller, input: DispatchInput): Promise<Outcome<DispatchResult, ItemRefusal>> => {
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
    return run(caller, {
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
  ): Promise<Outcome<ReceiveTransferResult, ItemRefusal>> => {
    const c = new Checker();
    c.id('movement_id', input.movementId);
    c.id('transfer_id', input.transferId);
    if (!(Number.isSafeInteger(input.quantity) && input.quantity >= 0))
      c.add('quantity', 'what arrived: a whole number, 0 or more');
    c.text('reason', input.reason);
    c.done();
    const transfer = await readTransfer(pool, caller.tenantId, input.transferId);
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
    return run(caller, {
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

  return { dispatch, receiveTransfer };
};
