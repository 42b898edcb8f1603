// Rebuild and verify read models from the event store, the source of truth.
import { readInCommitOrder, START } from '../../core/src/store/commitOrder.js';
import { toArgs, FIELDS, fromFields } from '../../contracts/availabilityRecord.js';
import { availabilityKey, availabilityPattern, parseAvailabilityKey } from '../../contracts/names.js';
import { fromStoredEvent } from '../../contracts/envelope.js';
import { parseWireEventType } from '../../contracts/eventTypes.js';
import { defineApply } from '../availability/projector.js';
import { recordMovement } from '../analytics/projector.js';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import type { Levels } from '../../core/src/domain/stock/levels.js';
import type { PolicySource } from '../../core/src/store/policies.js';

type ItemRow = {
  stream_id: string;
  tenant_id: string;
  location_id: string;
  sku: string;
  version: number;
  state: { levels: Levels };
  updated_at: Date;
};

/** Every stock item snapshot in the ledger, in pages (keyset on stream_id). */
async function* stockItems(pool: pg.Pool, tenantId: string | undefined, pageSize = 2_000): AsyncGenerator<ItemRow[]> {
  let after = '0';
  for (;;) {
    const { rows } = await pool.query<ItemRow>(
      `select stream_id::text as stream_id, tenant_id, location_id, sku, version, state, updated_at from streams
       where kind = 'stock_item' and version > 0 and stream_id > $1::bigint and ($2::text is null or tenant_id = $2)
       order by streams.stream_id limit $3`,
      [after, tenantId ?? null, pageSize],
    );
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]?.stream_id ?? after;
  }
}

const deleteKeys = async (redis: Redis, pattern: string): Promise<number> => {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
};

export const replayAvailability = async (o: {
  pool: pg.Pool;
  redis: Redis;
  namespace: string;
  tenantId?: string;
}): Promise<{ items: number }> => {
  await deleteKeys(o.redis, availabilityPattern(o.namespace, o.tenantId));
  const redis = defineApply(o.redis);
  let items = 0;
  for await (const page of stockItems(o.pool, o.tenantId)) {
    const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & {
      smApplyAvailability(key: string, ...args: string[]): unknown;
    };
    for (const r of page) {
      const record = { version: r.version, levels: r.state.levels, asOf: r.updated_at.toISOString() };
      pipeline.smApplyAvailability(
        availabilityKey(o.namespace, r.tenant_id, r.location_id, r.sku),
        ...toArgs(record),
        'force',
      );
    }
    await pipeline.exec();
    items += page.length;
  }
  return { items };
};

export type Drift = { tenantId: string; locationId: string; sku: string; ledger: string; readModel: string };

const describe = (version: number, levels: Levels) =>
  `v${version} on_hand=${levels.onHand} reserved=${levels.reserved} committed=${levels.committed} in_transit=${levels.inTransit} quarantined=${levels.quarantined}`;

/**
 * Compares every stock item in the ledger with Redis, and every Redis entry
 * with the ledger. Keys that differ are re-checked after `settleMs`, so an
 * event still on its way is not reported as drift.
 */
export const verifyAvailability = async (o: {
  pool: pg.Pool;
  redis: Redis;
  namespace: string;
  tenantId?: string;
  settleMs?: number;
}): Promise<{ checked: number; drift: Drift[] }> => {
  const compare = async (rows: ItemRow[]): Promise<Drift[]> => {
    const pipeline = o.redis.pipeline();
    for (const r of rows) pipeline.hmget(availabilityKey(o.namespace, r.tenant_id, r.location_id, r.sku), ...FIELDS);
    const results = (await pipeline.exec()) ?? [];
    return rows.flatMap((r, i) => {
      const cached = fromFields((results[i]?.[1] ?? []) as (string | null)[]);
      const same =
        cached !== null &&
        cached.version === r.version &&
        JSON.stringify(cached.levels) === JSON.stringify({ ...r.state.levels });
      if (same) return [];
      return [
        {
          tenantId: r.tenant_id,
          locationId: r.location_id,
          sku: r.sku,
          ledger: describe(r.version, r.state.levels),
          readModel: cached === null ? 'missing' : describe(cached.version, cached.levels),
        },
      ];
    });
  };
  let checked = 0;
  let suspects: ItemRow[] = [];
  const ledgerKeys = new Set<string>();
  for await (const page of stockItems(o.pool, o.tenantId)) {
    checked += page.length;
    for (const r of page) ledgerKeys.add(availabilityKey(o.namespace, r.tenant_id, r.location_id, r.sku));
    const drift = await compare(page);
    const bad = new Set(drift.map((d) => JSON.stringify([d.tenantId, d.locationId, d.sku])));
    suspects = suspects.concat(page.filter((r) => bad.has(JSON.stringify([r.tenant_id, r.location_id, r.sku]))));
  }
  // Entries in Redis that the ledger does not have.
  const orphans: Drift[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await o.redis.scan(
      cursor,
      'MATCH',
      availabilityPattern(o.namespace, o.tenantId),
      'COUNT',
      1000,
    );
    cursor = next;
    for (const key of keys) {
      if (ledgerKeys.has(key)) continue;
      const parsed = parseAvailabilityKey(o.namespace, key);
      orphans.push({
        tenantId: parsed?.tenantId ?? '?',
        locationId: parsed?.locationId ?? '?',
        sku: parsed?.sku ?? key,
        ledger: 'missing',
        readModel: 'present',
      });
    }
  } while (cursor !== '0');
  if (suspects.length === 0) return { checked, drift: orphans };
  await new Promise((r) => setTimeout(r, o.settleMs ?? 2_000));
  // Re-read the ledger too: the item may have moved on meanwhile.
  const { rows } = await o.pool.query<ItemRow>(
    `select stream_id::text as stream_id, tenant_id, location_id, sku, version, state, updated_at from streams where stream_id = any($1::bigint[])`,
    [suspects.map((s) => s.stream_id)],
  );
  return { checked, drift: [...(await compare(rows)), ...orphans] };
};

export const replayAnalytics = async (o: {
  pool: pg.Pool;
  analytics: pg.Pool;
  policies: PolicySource;
  tenantId?: string;
}): Promise<{ events: number }> => {
  if (o.tenantId === undefined) {
    await o.analytics.query('truncate movement_facts, daily_positions');
  } else {
    await o.analytics.query('delete from movement_facts where tenant_id = $1', [o.tenantId]);
    await o.analytics.query('delete from daily_positions where tenant_id = $1', [o.tenantId]);
  }
  let checkpoint = START;
  let events = 0;
  for (;;) {
    const batch = await readInCommitOrder(o.pool, checkpoint, 1_000);
    if (batch.events.length === 0) return { events };
    for (const e of batch.events) {
      if (
        parseWireEventType(e.eventType)?.context !== 'stock' ||
        (o.tenantId !== undefined && e.tenantId !== o.tenantId)
      )
        continue;
      const { policy } = await o.policies.get(e.tenantId);
      if (await recordMovement(o.analytics, fromStoredEvent(e), policy.timeZone)) events++;
    }
    checkpoint = batch.checkpoint;
  }
};
