// Analytics projector: one fact per stock movement (idempotent by event id) and
// daily positions per tenant, location, SKU and day, each message in its own
// short transaction.
import { deltaOf } from '../../core/src/domain/stock/stockItem.js';
import { parseWireEventType } from '../../contracts/eventTypes.js';
import { stockEventsSubject } from '../../contracts/names.js';
import { isConnectionError } from '../../platform/postgres/pool.js';
import { PoisonMessage, startConsumerLoop } from '../shared/consumer.js';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Envelope } from '../../contracts/envelope.js';
import type { StockItemEvent } from '../../core/src/domain/stock/stockItem.js';
import type { PolicySource } from '../../core/src/store/policies.js';
import type { ConsumerLoop } from '../shared/consumer.js';

/** Writes one stock event; returns false when it was already recorded. */
export const recordMovement = async (analytics: pg.Pool, e: Envelope, timeZone: string): Promise<boolean> => {
  const parsed = parseWireEventType(e.eventType);
  const data = e.payload as StockItemEvent['data'] | null;
  if (
    parsed?.context !== 'stock' ||
    data === null ||
    typeof data !== 'object' ||
    !('levelsAfter' in data) ||
    e.stream?.kind !== 'stock_item'
  ) {
    throw new PoisonMessage(`not a stock movement: ${e.eventType}`);
  }
  const event = { type: parsed.domainType, data } as StockItemEvent;
  const d = deltaOf(event);
  const after = data.levelsAfter;
  const client = await analytics.connect();
  // The query that is running sees a lost connection; without a listener the client's own
  // 'error' event would end the process.
  const onError = () => undefined;
  client.on('error', onError);
  try {
    await client.query('begin');
    const inserted = await client.query({
      name: 'an_fact',
      text: `insert into movement_facts (event_id, tenant_id, location_id, sku, event_type, channel, operator, quantity,
               on_hand_delta, reserved_delta, committed_delta, in_transit_delta, quarantined_delta, on_hand_after,
               stream_version, occurred_at, recorded_at, day)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, ($17::timestamptz at time zone $18)::date)
             on conflict (event_id) do nothing returning day`,
      values: [
        e.eventId,
        e.tenantId,
        e.stream.locationId,
        e.stream.sku,
        e.eventType,
        e.channel,
        e.operator,
        data.quantity,
        d.onHand ?? 0,
        d.reserved ?? 0,
        d.committed ?? 0,
        d.inTransit ?? 0,
        d.quarantined ?? 0,
        after.onHand,
        e.streamVersion,
        e.occurredAt,
        e.recordedAt,
        timeZone,
      ],
    });
    if (inserted.rowCount === 0) {
      await client.query('rollback');
      return false;
    }
    const flows = dailyFlows(event);
    await client.query({
      name: 'an_daily',
      text: `insert into daily_positions as p (tenant_id, location_id, sku, day, on_hand_close, reserved_close, committed_close,
               in_transit_close, quarantined_close, close_version, received, shipped, reserved, released,
               sold, written_off, returned, transferred_in, transferred_out, movements)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 1)
             on conflict (tenant_id, location_id, sku, day) do update set
               on_hand_close = case when excluded.close_version > p.close_version then excluded.on_hand_close else p.on_hand_close end,
               reserved_close = case when excluded.close_version > p.close_version then excluded.reserved_close else p.reserved_close end,
               committed_close = case when excluded.close_version > p.close_version then excluded.committed_close else p.committed_close end,
               in_transit_close = case when excluded.close_version > p.close_version then excluded.in_transit_close else p.in_transit_close end,
               quarantined_close = case when excluded.close_version > p.close_version then excluded.quarantined_close else p.quarantined_close end,
               close_version = greatest(p.close_version, excluded.close_version),
               received = p.received + excluded.received,
               shipped = p.shipped + excluded.shipped,
               reserved = p.reserved + excluded.reserved,
               released = p.released + excluded.released,
               sold = p.sold + excluded.sold,
               written_off = p.written_off + excluded.written_off,
               returned = p.returned + excluded.returned,
               transferred_in = p.transferred_in + excluded.transferred_in,
               transferred_out = p.transferred_out + excluded.transferred_out,
               movements = p.movements + 1`,
      values: [
        e.tenantId,
        e.stream.locationId,
        e.stream.sku,
        inserted.rows[0]?.day,
        after.onHand,
        after.reserved,
        after.committed,
        after.inTransit,
        after.quarantined,
        e.streamVersion,
        flows.received,
        flows.shipped,
        flows.reserved,
        flows.released,
        flows.sold,
        flows.writtenOff,
        flows.returned,
        flows.transferredIn,
        flows.transferredOut,
      ],
    });
    await client.query('commit');
    return true;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release();
  }
};

export const startAnalyticsProjector = async (o: {
  nc: NatsConnection;
  analytics: pg.Pool;
  pool: pg.Pool;
  policies: PolicySource;
  namespace: string;
  log: Logger;
  telemetry?: Telemetry;
}): Promise<ConsumerLoop> =>
  startConsumerLoop({
    ...(o.telemetry === undefined ? {} : { telemetry: o.telemetry }),
    nc: o.nc,
    pool: o.pool,
    namespace: o.namespace,
    projector: 'analytics',
    filterSubject: stockEventsSubject(o.namespace),
    log: o.log,
    isOutage: (err) => isConnectionError(err),
    async apply(e) {
      const { policy } = await o.policies.get(e.tenantId);
      await recordMovement(o.analytics, e, policy.timeZone);
    },
  });

/** What a day's row adds up per event: goods in, goods out and holds, each in base units. */
export const dailyFlows = (event: StockItemEvent) => {
  const q = event.data.quantity;
  const flows = {
    received: 0,
    shipped: 0,
    reserved: 0,
    released: 0,
    sold: 0,
    writtenOff: 0,
    returned: 0,
    transferredIn: 0,
    transferredOut: 0,
  };
  switch (event.type) {
    case 'StockReceived':
      return { ...flows, received: q };
    case 'StockShipped':
      return { ...flows, shipped: q };
    case 'StockReserved':
      return { ...flows, reserved: q };
    case 'ReservedStockReleased':
      return { ...flows, released: q };
    case 'StockSold':
      return { ...flows, sold: q };
    case 'StockWrittenOff':
    case 'QualityCheckFailed':
      return { ...flows, writtenOff: q };
    case 'StockCounted':
    case 'SensorDeltaApplied': {
      // A count or sensor finding fewer units is a loss; finding more is a correction in.
      const d = deltaOf(event).onHand ?? 0;
      return d < 0 ? { ...flows, writtenOff: -d } : { ...flows, received: d };
    }
    case 'StockReturned':
      return { ...flows, returned: q };
    case 'TransferReceived':
      return { ...flows, transferredIn: event.data.received };
    case 'TransferDispatched':
      return { ...flows, transferredOut: q };
    default:
      return flows;
  }
};
