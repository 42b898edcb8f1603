// StockItem: one stream per (tenant, location, SKU). Quantities are base units.
import { InvariantViolation, assertNever } from '../shared.js';
import { applyDelta, available, isNonNegative, zeroLevels } from './levels.js';
import type { LevelDelta, Levels } from './levels.js';

export type StockItem = { levels: Levels };

export const initialState = (): StockItem => ({ levels: zeroLevels() });

export type ReleaseSource = 'RESERVED' | 'COMMITTED';
export type ReleaseReason = 'RELEASED' | 'EXPIRED';

export type StockItemCommand =
  | {
      type: 'ReceiveStock';
      data: { movementId: string; quantity: number; unit: string; unitQuantity: number; reference: string };
    }
  | { type: 'ReserveStock'; data: { reservationId: string; quantity: number; safetyStock: number } }
  | { type: 'CommitReservedStock'; data: { reservationId: string; quantity: number } }
  | {
      type: 'ReleaseStock';
      data: { reservationId: string; quantity: number; from: ReleaseSource; reason: ReleaseReason };
    }
  | { type: 'ShipCommittedStock'; data: { reservationId: string; quantity: number; shipmentRef: string } };

/** Every stock event carries the levels right after it, so readers never need to replay. */
export type StockItemEvent =
  | {
      type: 'StockReceived';
      data: {
        movementId: string;
        quantity: number;
        unit: string;
        unitQuantity: number;
        reference: string;
        levelsAfter: Levels;
      };
    }
  | { type: 'StockReserved'; data: { reservationId: string; quantity: number; levelsAfter: Levels } }
  | { type: 'ReservedStockCommitted'; data: { reservationId: string; quantity: number; levelsAfter: Levels } }
  | {
      type: 'ReservedStockReleased';
      data: { reservationId: string; quantity: number; from: ReleaseSource; reason: ReleaseReason; levelsAfter: Levels };
    }
  | {
      type: 'StockShipped';
      data: { reservationId: string; quantity: number; shipmentRef: string; levelsAfter: Levels };
    };

export type StockRefusal = { reason: 'INSUFFICIENT_STOCK'; requested: number; available: number };

export type StockDecision = { kind: 'accepted'; events: StockItemEvent[] } | { kind: 'refused'; refusal: StockRefusal };

/** The level change an event stands for; `evolve` and `decide` both derive from it. */
export const deltaOf = (event: StockItemEvent): LevelDelta => {
  const q = event.data.quantity;
  switch (event.type) {
    case 'StockReceived':
      return { onHand: q };
    case 'StockReserved':
      return { reserved: q };
    case 'ReservedStockCommitted':
      return { reserved: -q, committed: q };
    case 'ReservedStockReleased':
      return event.data.from === 'RESERVED' ? { reserved: -q } : { committed: -q };
    case 'StockShipped':
      return { onHand: -q, committed: -q };
    default:
      return assertNever(event);
  }
};

export const evolve = (state: StockItem, event: StockItemEvent): StockItem => ({
  levels: applyDelta(state.levels, deltaOf(event)),
});

type EventWithoutLevels = StockItemEvent extends infer E
  ? E extends { type: infer T; data: infer D }
    ? { type: T; data: Omit<D, 'levelsAfter'> }
    : never
  : never;

/** Builds the event with its `levelsAfter`, refusing any change that would drive a level below zero. */
const withLevels = (state: StockItem, draft: EventWithoutLevels): StockItemEvent => {
  if (!(draft.data.quantity > 0)) {
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

export const decide = (command: StockItemCommand, state: StockItem): StockDecision => {
  switch (command.type) {
    case 'ReceiveStock':
      return accepted(state, { type: 'StockReceived', data: command.data });
    case 'ReserveStock': {
      const { reservationId, quantity, safetyStock } = command.data;
      const free = available(state.levels, safetyStock);
      if (quantity > free) {
        return { kind: 'refused', refusal: { reason: 'INSUFFICIENT_STOCK', requested: quantity, available: free } };
      }
      return accepted(state, { type: 'StockReserved', data: { reservationId, quantity } });
    }
    case 'CommitReservedStock':
      return accepted(state, { type: 'ReservedStockCommitted', data: command.data });
    case 'ReleaseStock':
      return accepted(state, { type: 'ReservedStockReleased', data: command.data });
    case 'ShipCommittedStock':
      return accepted(state, { type: 'StockShipped', data: command.data });
    default:
      return assertNever(command);
  }
};
