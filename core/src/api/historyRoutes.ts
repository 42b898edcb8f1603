// Audit trail and time travel: parse, authorize, call the use case, map the result.
import { create } from '@bufbuild/protobuf';
import { TimestampSchema } from '@bufbuild/protobuf/wkt';
import { MovementSchema, TimeBasis } from '../../../gen/stockmind/inventory/v1/history_pb.js';
import { callerFor } from './context.js';
import { channelFromPb, channelToPb, int64, stockLevelToPb } from './convert.js';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import type { Movement } from '../../../gen/stockmind/inventory/v1/history_pb.js';
import type { InventoryService } from '../../../gen/stockmind/inventory/v1/inventory_pb.js';
import type { Inventory } from '../app/inventory.js';
import type { MovementView } from '../app/history.js';

/** Microseconds since the epoch, as the ledger keeps them; out-of-range seconds become NaN for the checks to name. */
const usFromPb = (t: Timestamp | undefined): number | null =>
  t === undefined ? null : int64(t.seconds) * 1_000_000 + Math.trunc(t.nanos / 1000);

const usToPb = (us: number): Timestamp => {
  const seconds = Math.floor(us / 1_000_000);
  return create(TimestampSchema, { seconds: BigInt(seconds), nanos: (us - seconds * 1_000_000) * 1000 });
};

const movementToPb = (v: MovementView): Movement =>
  create(MovementSchema, {
    eventId: v.eventId,
    eventType: v.eventType,
    sku: v.sku,
    locationId: v.locationId,
    quantity: BigInt(v.quantity),
    unit: v.unit,
    unitQuantity: BigInt(v.unitQuantity),
    channel: channelToPb(v.channel),
    operator: v.operator,
    reason: v.reason,
    reference: v.reference,
    causationId: v.causationId,
    correlationId: v.correlationId,
    occurredAt: usToPb(v.occurredUs),
    recordedAt: usToPb(v.recordedUs),
    streamVersion: BigInt(v.streamVersion),
    levelsAfter: stockLevelToPb(v.levelsAfter),
  });

export const historyHandlers = (inventory: Inventory): Partial<ServiceImpl<typeof InventoryService>> => ({
  async listMovements(req, ctx) {
    const caller = callerFor(ctx, 'audit', { locations: [req.locationId] });
    const page = await inventory.history.movements(caller, {
      sku: req.sku,
      locationId: req.locationId,
      channel: channelFromPb(req.channel),
      operator: req.operator,
      fromUs: usFromPb(req.from),
      toUs: usFromPb(req.to),
      pageSize: req.pageSize,
      pageToken: req.pageToken,
    });
    return { movements: page.movements.map(movementToPb), nextPageToken: page.next };
  },
  async getStockAt(req, ctx) {
    const keys = req.keys.map((k) => ({ sku: k.sku, locationId: k.locationId }));
    const caller = callerFor(ctx, 'audit', {
      locations: keys.length > 0 ? keys.map((k) => k.locationId) : [req.locationId],
    });
    const atUs = usFromPb(req.at);
    const basis = req.basis === TimeBasis.OCCURRED ? 'OCCURRED' : 'RECORDED';
    const levels = await inventory.history.stockAt(caller, { keys, locationId: req.locationId, atUs, basis });
    // as_of is `at` to the microsecond, not the millisecond a view's ISO string keeps.
    return { levels: levels.map((l) => ({ ...stockLevelToPb(l), ...(atUs === null ? {} : { asOf: usToPb(atUs) }) })) };
  },
});
