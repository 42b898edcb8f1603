// StockItem: one stream per (tenant, location, SKU). Quantities are base units.
import { InvariantViolation, assertNever } from '../shared.js';
import { applyDelta, available, isNonNegative, zeroLevels } from './levels.js';
import { deltaOf } from './events.js';
import type { Levels } from './levels.js';
import type { ReleaseReason, ReleaseSource, StockItemEvent, WriteOffKind } from './events.js';

export { deltaOf } from './events.js';
export type { ReleaseReason, ReleaseSource, StockItemEvent, StockItemEventType, WriteOffKind } from './events.js';

export type StockItem = {
  levels: Levels;
  /** Open supplier expectations (ExpectStock ids) and the units of each still in transit. */
  inbound?: Record<string, number>;
  /** Transfers on their way here, by transfer id. */
  transfersIn?: Record<string, { quantity: number; fromLocationId: string }>;
};

export const initialState = (): StockItem => ({ levels: zeroLevels() });

type AsSent = { unit: string; unitQuantity: number };

export type StockItemCommand =
  | {
      type: 'ReceiveStock';
      data: AsSent & { movementId: string; quantity: number; reference: string; expectationId?: string };
    }
  | { type: 'ReserveStock'; data: { reservationId: string; quantity: number; safetyStock: number } }
  | { type: 'CommitReservedStock'; data: { reservationId: string; quantity: number } }
  | {
      type: 'ReleaseStock';
      data: { reservationId: string; quantity: number; from: ReleaseSource; reason: ReleaseReason };
    }
  | { type: 'ShipCommittedStock'; data: { reservationId: string; quantity: number; shipmentRef: string } }
  | {
      type: 'SellStock';
      data: AsSent & { movementId: string; quantity: number; reference: string; safetyStock: number };
    }
  | { type: 'CountStock'; data: AsSent & { movementId: string; counted: number; reason: string } }
  | {
      type: 'WriteOffStock';
      data: AsSent & { movementId: string; kind: WriteOffKind; quantity: number; reason: string };
    }
  | { type: 'ApplySensorDelta'; data: AsSent & { movementId: string; delta: number; reason: string } }
  | {
      type: 'ExpectStock';
      data: AsSent & { movementId: string; quantity: number; reference: string; expectedAt: string | null };
    }
  | {
      type: 'DispatchTransfer';
      data: AsSent & {
        transferId: string;
        toLocationId: string;
        quantity: number;
        reference: string;
        reason: string;
        safetyStock: number;
      };
    }
  | { type: 'ExpectTransfer'; data: { transferId: string; fromLocationId: string; quantity: number } }
  | {
      type: 'ReceiveTransfer';
      data: AsSent & { movementId: string; transferId: string; received: number; reason: string };
    }
  | {
      type: 'AcceptReturn';
      data: AsSent & {
        movementId: string;
        quantity: number;
        reference: string;
        reason: string;
        soldAt: string;
        now: string;
        returnWindowDays: number;
        qualityCheckRequired: boolean;
      };
    }
  | {
      type: 'CompleteQualityCheck';
      data: AsSent & { movementId: string; quantity: number; passed: boolean; reason: string };
    };

export type StockRefusal =
  | { reason: 'INSUFFICIENT_STOCK'; requested: number; available: number }
  | { reason: 'NOT_ENOUGH_ON_HAND'; requested: number; onHand: number }
  | { reason: 'NOT_ENOUGH_QUARANTINED'; requested: number; quarantined: number }
  | { reason: 'EXPECTATION_NOT_OPEN'; expectationId: string }
  | { reason: 'TRANSFER_NOT_IN_TRANSIT'; transferId: string }
  | { reason: 'RECEIVED_MORE_THAN_DISPATCHED'; transferId: string; dispatched: number; received: number }
  | { reason: 'RETURN_WINDOW_CLOSED'; soldAt: string; returnWindowDays: number };

export type StockDecision = { kind: 'accepted'; events: StockItemEvent[] } | { kind: 'refused'; refusal: StockRefusal };

// Ids are caller-chosen ("constructor", "__proto__" are valid): read own entries only, never the prototype.
const entry = <V>(map: Record<string, V> | undefined, key: string): V | undefined =>
  map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;

const without = <V>(map: Record<string, V> | undefined, key: string): Record<string, V> | undefined => {
  const rest = Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => k !== key));
  return Object.keys(rest).length === 0 ? undefined : rest;
};

const withMaps = (levels: Levels, inbound: StockItem['inbound'], transfersIn: StockItem['transfersIn']): StockItem => ({
  levels,
  ...(inbound === undefined ? {} : { inbound }),
  ...(transfersIn === undefined ? {} : { transfersIn }),
});

export const evolve = (state: StockItem, event: StockItemEvent): StockItem => {
  const levels = applyDelta(state.levels, deltaOf(event));
  let { inbound, transfersIn } = state;
  if (event.type === 'StockExpected') inbound = { ...inbound, [event.data.movementId]: event.data.quantity };
  if (event.type === 'StockReceived' && event.data.expectationId !== undefined) {
    const left = (entry(inbound, event.data.expectationId) ?? 0) - (event.data.clearedInTransit ?? 0);
    inbound = left > 0 ? { ...inbound, [event.data.expectationId]: left } : without(inbound, event.data.expectationId);
  }
  if (event.type === 'TransferInTransit') {
    transfersIn = {
      ...transfersIn,
      [event.data.transferId]: { quantity: event.data.quantity, fromLocationId: event.data.fromLocationId },
    };
  }
  if (event.type === 'TransferReceived') transfersIn = without(transfersIn, event.data.transferId);
  return withMaps(levels, inbound, transfersIn);
};

type EventWithoutLevels = StockItemEvent extends infer E
  ? E extends { type: infer T; data: infer D }
    ? { type: T; data: Omit<D, 'levelsAfter'> }
    : never
  : never;

/** Builds the event with its `levelsAfter`, refusing any change that would drive a level below zero. */
const withLevels = (state: StockItem, draft: EventWithoutLevels): StockItemEvent => {
  // A count that matches is still recorded: the count itself is the fact.
  const mayBeZero = draft.type === 'StockCounted';
  if (!(draft.data.quantity > 0) && !(mayBeZero && draft.data.quantity === 0)) {
    throw new InvariantViolation('NON_POSITIVE_QUANTITY', `${draft.type} with quantity ${draft.data.quantity}`);
  }
  const provisional = { ...draft, data: { ...draft.data, levelsAfter: state.levels } } as StockItemEvent;
  const levelsAfter = applyDelta(state.levels, deltaOf(provisional));
  if (!isNonNegative(levelsAfter)) {
    throw new InvariantViolation('LEVEL_WOULD_GO_NEGATIVE', `${draft.type} of ${draft.data.quantity}`);
  }
  return { ...draft, data: { ...draft.data, levelsAfter } } as StockItemEvent;
};

const accepted = (state: StockItem, draft: EventWithoutLevels): StockDecision => ({
  kind: 'accepted',
  events: [withLevels(state, draft)],
});

const refused = (refusal: StockRefusal): StockDecision => ({ kind: 'refused', refusal });

/** Takes units out of what is free to sell: a sale, a hold or a transfer out. */
const takeAvailable = (
  state: StockItem,
  quantity: number,
  safetyStock: number,
  draft: EventWithoutLevels,
): StockDecision => {
  const free = available(state.levels, safetyStock);
  return quantity > free
    ? refused({ reason: 'INSUFFICIENT_STOCK', requested: quantity, available: free })
    : accepted(state, draft);
};

/** Takes units off the shelf whether promised or not: what is gone is gone, but never below zero. */
const takeOnHand = (state: StockItem, quantity: number, draft: EventWithoutLevels): StockDecision =>
  quantity > state.levels.onHand
    ? refused({ reason: 'NOT_ENOUGH_ON_HAND', requested: quantity, onHand: state.levels.onHand })
    : accepted(state, draft);

const DAY_MS = 24 * 3600 * 1000;

export const decide = (command: StockItemCommand, state: StockItem): StockDecision => {
  switch (command.type) {
    case 'ReceiveStock': {
      const { expectationId, ...receipt } = command.data;
      if (expectationId === undefined) return accepted(state, { type: 'StockReceived', data: receipt });
      const outstanding = entry(state.inbound, expectationId);
      if (outstanding === undefined) return refused({ reason: 'EXPECTATION_NOT_OPEN', expectationId });
      const clearedInTransit = Math.min(outstanding, receipt.quantity);
      return accepted(state, { type: 'StockReceived', data: { ...receipt, expectationId, clearedInTransit } });
    }
    case 'ReserveStock': {
      const { reservationId, quantity, safetyStock } = command.data;
      return takeAvailable(state, quantity, safetyStock, { type: 'StockReserved', data: { reservationId, quantity } });
    }
    case 'CommitReservedStock':
      return accepted(state, { type: 'ReservedStockCommitted', data: command.data });
    case 'ReleaseStock':
      return accepted(state, { type: 'ReservedStockReleased', data: command.data });
    case 'ShipCommittedStock':
      // A count may have found fewer units than were promised: then the goods cannot leave.
      return takeOnHand(state, command.data.quantity, { type: 'StockShipped', data: command.data });
    case 'SellStock': {
      const { safetyStock, ...sale } = command.data;
      return takeAvailable(state, sale.quantity, safetyStock, { type: 'StockSold', data: sale });
    }
    case 'CountStock': {
      const { counted, ...count } = command.data;
      const difference = counted - state.levels.onHand;
      return accepted(state, {
        type: 'StockCounted',
        data: { ...count, counted, previousOnHand: state.levels.onHand, difference, quantity: Math.abs(difference) },
      });
    }
    case 'WriteOffStock':
      return takeOnHand(state, command.data.quantity, { type: 'StockWrittenOff', data: command.data });
    case 'ApplySensorDelta': {
      const { delta } = command.data;
      const draft: EventWithoutLevels = {
        type: 'SensorDeltaApplied',
        data: { ...command.data, quantity: Math.abs(delta) },
      };
      return delta < 0 ? takeOnHand(state, -delta, draft) : accepted(state, draft);
    }
    case 'ExpectStock':
      return accepted(state, { type: 'StockExpected', data: command.data });
    case 'DispatchTransfer': {
      const { safetyStock, ...dispatch } = command.data;
      return takeAvailable(state, dispatch.quantity, safetyStock, { type: 'TransferDispatched', data: dispatch });
    }
    case 'ExpectTransfer':
      return accepted(state, { type: 'TransferInTransit', data: command.data });
    case 'ReceiveTransfer':
      return decideTransferReceipt(command.data, state);
    case 'AcceptReturn': {
      const { soldAt, now, returnWindowDays, qualityCheckRequired, ...ret } = command.data;
      if (Date.parse(now) - Date.parse(soldAt) > returnWindowDays * DAY_MS) {
        return refused({ reason: 'RETURN_WINDOW_CLOSED', soldAt, returnWindowDays });
      }
      return accepted(state, { type: 'StockReturned', data: { ...ret, soldAt, quarantined: qualityCheckRequired } });
    }
    case 'CompleteQualityCheck': {
      const { passed, ...check } = command.data;
      if (check.quantity > state.levels.quarantined) {
        return refused({
          reason: 'NOT_ENOUGH_QUARANTINED',
          requested: check.quantity,
          quarantined: state.levels.quarantined,
        });
      }
      return accepted(state, { type: passed ? 'QualityCheckPassed' : 'QualityCheckFailed', data: check });
    }
    default:
      return assertNever(command);
  }
};

const decideTransferReceipt = (
  data: Extract<StockItemCommand, { type: 'ReceiveTransfer' }>['data'],
  state: StockItem,
): StockDecision => {
  const { received, ...receipt } = data;
  const transfer = entry(state.transfersIn, receipt.transferId);
  if (transfer === undefined) return refused({ reason: 'TRANSFER_NOT_IN_TRANSIT', transferId: receipt.transferId });
  if (received > transfer.quantity) {
    return refused({
      reason: 'RECEIVED_MORE_THAN_DISPATCHED',
      transferId: receipt.transferId,
      dispatched: transfer.quantity,
      received,
    });
  }
  return accepted(state, {
    type: 'TransferReceived',
    data: {
      ...receipt,
      fromLocationId: transfer.fromLocationId,
      quantity: transfer.quantity,
      received,
      shortage: transfer.quantity - received,
    },
  });
};
