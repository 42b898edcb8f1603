// What can happen to a stock item, and the level change each event stands for.
// Quantities are base units; `unit` and `unitQuantity` keep what the caller sent.
import { assertNever } from '../shared.js';
import type { LevelDelta, Levels } from './levels.js';

export type ReleaseSource = 'RESERVED' | 'COMMITTED';
export type ReleaseReason = 'RELEASED' | 'EXPIRED';
export type WriteOffKind = 'DAMAGE' | 'SHRINKAGE';

/** The quantity as the caller sent it, beside the base quantity the ledger counts. */
type AsSent = { unit: string; unitQuantity: number };
type Movement = AsSent & { movementId: string; quantity: number };

/** Every stock event carries the levels right after it, so readers never need to replay. */
export type StockItemEvent =
  | {
      type: 'StockReceived';
      data: Movement & {
        reference: string;
        /** The ExpectStock this receipt is against, and how much of it left in transit. */
        expectationId?: string;
        clearedInTransit?: number;
        levelsAfter: Levels;
      };
    }
  | { type: 'StockReserved'; data: { reservationId: string; quantity: number; levelsAfter: Levels } }
  | { type: 'ReservedStockCommitted'; data: { reservationId: string; quantity: number; levelsAfter: Levels } }
  | {
      type: 'ReservedStockReleased';
      data: {
        reservationId: string;
        quantity: number;
        from: ReleaseSource;
        reason: ReleaseReason;
        levelsAfter: Levels;
      };
    }
  | {
      type: 'StockShipped';
      data: { reservationId: string; quantity: number; shipmentRef: string; levelsAfter: Levels };
    }
  | { type: 'StockSold'; data: Movement & { reference: string; levelsAfter: Levels } }
  | {
      type: 'StockCounted';
      /** `quantity` is the size of the difference; `difference` is signed. */
      data: Movement & {
        counted: number;
        previousOnHand: number;
        difference: number;
        reason: string;
        levelsAfter: Levels;
      };
    }
  | { type: 'StockWrittenOff'; data: Movement & { kind: WriteOffKind; reason: string; levelsAfter: Levels } }
  | { type: 'SensorDeltaApplied'; data: Movement & { delta: number; reason: string; levelsAfter: Levels } }
  | { type: 'StockExpected'; data: Movement & { reference: string; expectedAt: string | null; levelsAfter: Levels } }
  | {
      type: 'TransferDispatched';
      data: AsSent & {
        transferId: string;
        toLocationId: string;
        quantity: number;
        reference: string;
        reason: string;
        levelsAfter: Levels;
      };
    }
  | {
      type: 'TransferInTransit';
      data: { transferId: string; fromLocationId: string; quantity: number; levelsAfter: Levels };
    }
  | {
      type: 'TransferReceived';
      /** `quantity` is what was dispatched; `received` what arrived; the rest is `shortage`. */
      data: AsSent & {
        movementId: string;
        transferId: string;
        fromLocationId: string;
        quantity: number;
        received: number;
        shortage: number;
        reason: string;
        levelsAfter: Levels;
      };
    }
  | {
      type: 'StockReturned';
      data: Movement & {
        reference: string;
        reason: string;
        soldAt: string | null;
        quarantined: boolean;
        levelsAfter: Levels;
      };
    }
  | { type: 'QualityCheckPassed'; data: Movement & { reason: string; levelsAfter: Levels } }
  | { type: 'QualityCheckFailed'; data: Movement & { reason: string; levelsAfter: Levels } };

export type StockItemEventType = StockItemEvent['type'];

/** The level change an event stands for; `evolve`, `decide` and the projectors all derive from it. */
export const deltaOf = (event: StockItemEvent): LevelDelta => {
  const q = event.data.quantity;
  switch (event.type) {
    case 'StockReceived':
      return event.data.clearedInTransit ? { onHand: q, inTransit: -event.data.clearedInTransit } : { onHand: q };
    case 'StockReserved':
      return { reserved: q };
    case 'ReservedStockCommitted':
      return { reserved: -q, committed: q };
    case 'ReservedStockReleased':
      return event.data.from === 'RESERVED' ? { reserved: -q } : { committed: -q };
    case 'StockShipped':
      return { onHand: -q, committed: -q };
    case 'StockSold':
    case 'StockWrittenOff':
    case 'TransferDispatched':
      return { onHand: -q };
    case 'StockCounted':
      return { onHand: event.data.difference };
    case 'SensorDeltaApplied':
      return { onHand: event.data.delta };
    case 'StockExpected':
    case 'TransferInTransit':
      return { inTransit: q };
    case 'TransferReceived':
      return { inTransit: -q, onHand: event.data.received };
    case 'StockReturned':
      return event.data.quarantined ? { quarantined: q } : { onHand: q };
    case 'QualityCheckPassed':
      return { quarantined: -q, onHand: q };
    case 'QualityCheckFailed':
      return { quarantined: -q };
    default:
      return assertNever(event);
  }
};
