// The history bench's long stream: decided by the real domain (decide/evolve) and written by the
// store's appendToStreams in large batches; only its timestamps are then spread over 180 days (one
// batch shares one recorded_at), with every 100th event back-dated by 3 hours.
import { randomUUID } from 'node:crypto';
import { appendToStreams, lockStreams, stockItemStreamKey } from '../../core/src/store/eventStore.js';
import { wireEventType } from '../../contracts/eventTypes.js';
import { decide, evolve, initialState } from '../../core/src/domain/stock/stockItem.js';
import type pg from 'pg';
import type { StockItem, StockItemCommand } from '../../core/src/domain/stock/stockItem.js';
import type { NewEvent } from '../../core/src/store/eventStore.js';

export type HotStream = { tenant: string; sku: string; locationId: string; events: number };

const DAY_MS = 24 * 3600 * 1000;

/** A seeded generator, so every run builds the same history. */
export const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** The next command of a busy warehouse: receipts when low, else sales, holds and releases. */
const commands = (random: () => number) => {
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  return (state: StockItem, n: number, open: { id: string; quantity: number }[]): StockItemCommand => {
    const free = state.levels.onHand - state.levels.reserved - state.levels.committed;
    const id = `hist-${n}`;
    const roll = random();
    if (free < 50) {
      const quantity = between(100, 300);
      return {
        type: 'ReceiveStock',
        data: { movementId: id, quantity, unit: '', unitQuantity: quantity, reference: `PO-${n}` },
      };
    }
    if (roll < 0.3 && open.length > 0) {
      const held = open.shift() as { id: string; quantity: number };
      return {
        type: 'ReleaseStock',
        data: { reservationId: held.id, quantity: held.quantity, from: 'RESERVED', reason: 'RELEASED' },
      };
    }
    if (roll < 0.6) {
      const quantity = between(1, 5);
      open.push({ id, quantity });
      return { type: 'ReserveStock', data: { reservationId: id, quantity, safetyStock: 0 } };
    }
    const quantity = between(1, 5);
    return {
      type: 'SellStock',
      data: { movementId: id, quantity, unit: '', unitQuantity: quantity, reference: `T-${n}`, safetyStock: 0 },
    };
  };
};

/** Builds the long stream; returns its first and last recorded instants (ms). */
export const buildHotStream = async (
  pool: pg.Pool,
  hot: HotStream,
  random: () => number,
  log: (line: string) => void,
): Promise<{ fromMs: number; toMs: number }> => {
  const nextCommand = commands(random);
  const meta = {
    channel: 'POS',
    operator: 'bench',
    correlationId: randomUUID(),
    causationId: 'bench',
    traceId: null,
    producer: 'bench',
    policyVersion: 0,
  };
  const key = stockItemStreamKey(hot.locationId, hot.sku);
  let state = initialState();
  const open: { id: string; quantity: number }[] = [];
  let written = 0;
  const started = performance.now();
  while (written < hot.events) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { streams, now } = await lockStreams(client, hot.tenant, [key]);
      const stream = [...streams.values()][0];
      if (stream === undefined) throw new Error('the hot stream was not locked');
      const events: NewEvent[] = [];
      while (events.length < Math.min(5_000, hot.events - written)) {
        const decision = decide(nextCommand(state, written + events.length, open), state);
        if (decision.kind === 'refused') continue;
        for (const e of decision.events) {
          state = evolve(state, e);
          events.push({
            eventId: randomUUID(),
            eventType: wireEventType('stock', e.type),
            schemaVersion: 1,
            data: e.data,
            occurredAt: now,
          });
        }
      }
      await appendToStreams(client, hot.tenant, [{ stream, events, state }], meta, now);
      await client.query('commit');
      written += events.length;
    } finally {
      client.release();
    }
    log(`  ${written} events`);
  }
  const toMs = Date.now() - 60_000;
  const fromMs = toMs - 180 * DAY_MS;
  const stepUs = Math.floor(((toMs - fromMs) * 1000) / hot.events);
  await pool.query(
    `with s as (select stream_id from streams where tenant_id = $1 and kind = 'stock_item' and location_id = $2 and sku = $3)
     update events e set recorded_at = to_timestamp($4 / 1000.0) + (e.version * $5::bigint) * interval '1 microsecond',
                         occurred_at = to_timestamp($4 / 1000.0) + (e.version * $5::bigint) * interval '1 microsecond'
                                       - case when e.version % 100 = 0 then interval '3 hours' else interval '0' end
     from s where e.stream_id = s.stream_id`,
    [hot.tenant, hot.locationId, hot.sku, fromMs, stepUs],
  );
  await pool.query(
    `update streams s set created_at = x.first, updated_at = x.last
     from (select stream_id, min(recorded_at) as first, max(recorded_at) as last from events group by stream_id) x
     where s.stream_id = x.stream_id and s.tenant_id = $1 and s.location_id = $2 and s.sku = $3`,
    [hot.tenant, hot.locationId, hot.sku],
  );
  await pool.query('vacuum analyze events');
  await pool.query('vacuum analyze streams');
  log(`built ${written} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { fromMs, toMs };
};
