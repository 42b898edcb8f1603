// Locking streams against a real Postgres: a hot SKU queues instead of failing,
// and commands locking overlapping streams in any order never deadlock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/db.js';
import { newEvent, specMetadata, storeHelpers, streamOf } from '../../../test/support/store.js';
import { isPgError } from '../../../platform/postgres/pool.js';
import { appendToStreams, lockStreams, stockItemStreamKey, streamKeyId } from './eventStore.js';
import type pg from 'pg';
import type { TestDatabase } from '../../../test/support/db.js';
import type { StreamKey } from './eventStore.js';

const TENANT = 'acme';
const META = specMetadata('lock-streams-spec');

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('store_lock_streams');
});

afterAll(async () => {
  await db?.drop();
});

const { streamRow, eventsOf, createStreams, appendLocked } = storeHelpers(() => db.pool, TENANT, META);

describe('the write path on one hot stream', () => {
  it('keeps 8 workers x 50 locked appends gapless, with no lost or duplicated append', async () => {
    const K = 8;
    const M = 50;
    const key = stockItemStreamKey('wh-1', 'sku-hot');
    const acked: { worker: number; seq: number; version: number; state: Record<string, unknown> }[] = [];

    await Promise.all(
      Array.from({ length: K }, async (_, worker) => {
        for (let seq = 0; seq < M; seq++) {
          const { version, state } = await appendLocked(key, { worker, seq });
          acked.push({ worker, seq, version, state });
        }
      }),
    );

    const events = await eventsOf(key);
    expect(acked).toHaveLength(K * M);
    expect(events).toHaveLength(acked.length);
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: K * M }, (_, i) => i + 1));
    // Each acknowledged append is the event stored at the version it was told it got.
    const byVersion = new Map(events.map((e) => [e.version, e.data]));
    for (const a of acked) expect(byVersion.get(a.version)).toEqual({ worker: a.worker, seq: a.seq });
    const last = acked.find((a) => a.version === K * M);
    expect(last).toBeDefined();
    expect(await streamRow(key)).toMatchObject({ version: K * M, state: last?.state });
  });
});

describe('lock ordering', () => {
  /** Locks `keys` as given and appends one event to each, holding the locks a moment to overlap with the others. */
  const lockAndAppend = async (c: pg.PoolClient, keys: StreamKey[]): Promise<void> => {
    try {
      const { streams, now } = await lockStreams(c, TENANT, keys);
      expect(streams.size).toBe(keys.length);
      await c.query('select pg_sleep(0.002)');
      const appends = keys.map((k) => ({
        stream: streamOf(streams, k),
        events: [newEvent({ locked: keys.map(streamKeyId) })],
        state: {},
      }));
      await appendToStreams(c, TENANT, appends, META, now);
      await c.query('commit');
    } catch (err) {
      await c.query('rollback');
      throw err;
    }
  };

  it('never deadlocks when commands lock overlapping streams in opposite orders, new streams included', async () => {
    const e1 = stockItemStreamKey('wh-3', 'sku-e1');
    const e2 = stockItemStreamKey('wh-3', 'sku-e2');
    await createStreams([e1, e2]);
    // Fault injection in this spec's own database: each proposed stream row of this test takes a
    // moment to insert, so creating [X, Y] against [Y, X] would interleave and deadlock unless
    // both commands insert in the same order.
    await db.pool.query(`
      create function slow_stream_insert() returns trigger language plpgsql as $$
      begin
        if new.location_id like 'wh-3-r%' then perform pg_sleep(0.003); end if;
        return new;
      end $$;
      create trigger slow_stream_insert before insert on streams for each row execute function slow_stream_insert();`);
    const ROUNDS = 25;
    const failures: unknown[] = [];

    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Fresh keys every round, so each command must create them too.
        const x = stockItemStreamKey(`wh-3-r${round}`, 'sku-x');
        const y = stockItemStreamKey(`wh-3-r${round}`, 'sku-y');
        const orders: StreamKey[][] = [
          [x, y, e1, e2],
          [e2, e1, y, x],
          [y, e1, x],
          [e2, x, e1, y],
        ];
        const clients = await Promise.all(orders.map(() => db.pool.connect()));
        try {
          await Promise.all(clients.map((c) => c.query('begin')));
          const results = await Promise.allSettled(clients.map((c, i) => lockAndAppend(c, orders[i]!)));
          for (const r of results) if (r.status === 'rejected') failures.push(r.reason);
        } finally {
          for (const c of clients) c.release();
        }
      }
    } finally {
      await db.pool.query('drop trigger slow_stream_insert on streams; drop function slow_stream_insert()');
    }

    expect(failures.map((e) => (isPgError(e) ? `${e.code} ${e.message}` : String(e)))).toEqual([]);
    // Every command appended to every stream it locked: no lost update, each new stream created once.
    const { rows } = await db.pool.query<{ n: string }>(
      `select count(*) as n from streams where tenant_id = $1 and location_id like 'wh-3-r%'`,
      [TENANT],
    );
    expect(Number(rows[0]?.n)).toBe(ROUNDS * 2);
    for (const k of [stockItemStreamKey('wh-3-r0', 'sku-x'), stockItemStreamKey(`wh-3-r${ROUNDS - 1}`, 'sku-y')]) {
      expect((await eventsOf(k)).map((e) => e.version)).toEqual([1, 2, 3, 4]);
    }
    expect((await streamRow(e1)).version).toBe(ROUNDS * 4);
    expect((await streamRow(e2)).version).toBe(ROUNDS * 3);
  });
});
