// Availability projector: JetStream -> one Redis hash per stock item.
// Idempotent by stream version in one Lua script (older: skip, next: apply,
// gap: fill from Postgres, the source of truth).
import { APPLY_SCRIPT, toArgs } from '../../contracts/availabilityRecord.js';
import { availabilityKey, stockEventsSubject } from '../../contracts/names.js';
import { isConnectionError } from '../../platform/postgres/pool.js';
import { PoisonMessage, startConsumerLoop } from '../shared/consumer.js';
import { inSpan } from '../../platform/telemetry/tracing.js';
import type { Redis } from 'ioredis';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';
import type { Tracing } from '../../platform/telemetry/tracing.js';
import type { Levels } from '../../core/src/domain/stock/levels.js';
import type { AvailabilityRecord } from '../../contracts/availabilityRecord.js';
import type { ConsumerLoop } from '../shared/consumer.js';
import type { Envelope } from '../../contracts/envelope.js';

type Applier = Redis & { smApplyAvailability(key: string, ...args: string[]): Promise<number> };

export const defineApply = (redis: Redis): Applier => {
  if (!('smApplyAvailability' in redis))
    redis.defineCommand('smApplyAvailability', { numberOfKeys: 1, lua: APPLY_SCRIPT });
  return redis as Applier;
};

/** Writes the stock item's current snapshot from Postgres if it is newer than Redis. */
export const fillFromLedger = async (
  redis: Redis,
  pool: pg.Pool,
  namespace: string,
  item: { tenantId: string; locationId: string; sku: string },
): Promise<void> => {
  const { rows } = await pool.query<{ version: number; state: { levels: Levels }; updated_at: Date }>({
    name: 'sm_avail_fill',
    text: `select version, state, updated_at from streams
           where tenant_id = $1 and kind = 'stock_item' and location_id = $2 and sku = $3 and reservation_id = ''`,
    values: [item.tenantId, item.locationId, item.sku],
  });
  const row = rows[0];
  if (row === undefined || row.version === 0) return;
  const record: AvailabilityRecord = {
    version: row.version,
    levels: row.state.levels,
    asOf: row.updated_at.toISOString(),
  };
  await defineApply(redis).smApplyAvailability(
    availabilityKey(namespace, item.tenantId, item.locationId, item.sku),
    ...toArgs(record),
    'force',
  );
};

/**
 * Applies one stock event to its Redis hash: the next version applies, an
 * older or equal one is skipped, a gap is filled from the ledger.
 */
export const applyAvailabilityEvent = async (
  o: { redis: Redis; pool: pg.Pool; namespace: string; tracing?: Tracing | null },
  e: Envelope,
  traceparent: string | null = null,
): Promise<void> => {
  const levels = (e.payload as { levelsAfter?: Levels } | null)?.levelsAfter;
  if (e.stream?.kind !== 'stock_item' || levels === undefined || typeof e.streamVersion !== 'number') {
    throw new PoisonMessage(`not a stock item event with levelsAfter: ${e.eventType}`);
  }
  const item = { tenantId: e.tenantId, locationId: e.stream.locationId, sku: e.stream.sku };
  const key = availabilityKey(o.namespace, item.tenantId, item.locationId, item.sku);
  const result = await inSpan(
    o.tracing ?? null,
    'redis apply availability',
    { parent: traceparent, kind: 'client', attributes: { 'db.system.name': 'redis' } },
    () =>
      defineApply(o.redis).smApplyAvailability(
        key,
        ...toArgs({ version: e.streamVersion, levels, asOf: e.recordedAt }),
        'next',
      ),
  );
  if (result === -1) await fillFromLedger(o.redis, o.pool, o.namespace, item);
};

export const startAvailabilityProjector = async (o: {
  nc: NatsConnection;
  redis: Redis;
  pool: pg.Pool;
  namespace: string;
  log: Logger;
  telemetry?: Telemetry;
}): Promise<ConsumerLoop> => {
  defineApply(o.redis);
  const target = { ...o, tracing: o.telemetry?.tracing ?? null };
  return startConsumerLoop({
    ...(o.telemetry === undefined ? {} : { telemetry: o.telemetry }),
    nc: o.nc,
    pool: o.pool,
    namespace: o.namespace,
    projector: 'availability',
    filterSubject: stockEventsSubject(o.namespace),
    log: o.log,
    isOutage: (err) => o.redis.status !== 'ready' || isConnectionError(err),
    apply: (e, _msg, traceparent) => applyAvailabilityEvent(target, e, traceparent),
  });
};
