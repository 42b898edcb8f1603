// inTransaction against a real Postgres: nothing commits once the caller gave
// up or the work declined, and a deadlock victim is retried without applying twice.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/support/db.js';
import {
  appendToStreams,
  lockStreams,
  readStreams,
  stockItemStreamKey,
  streamKeyId,
} from '../../core/src/store/eventStore.js';
import { CancelledBeforeCommit, inTransaction } from './tx.js';
import type pg from 'pg';
import type { TestDatabase } from '../../test/support/db.js';
import type { EventMetadata, StreamKey } from '../../core/src/store/eventStore.js';

const TENANT = 'acme';
const META: EventMetadata = {
  channel: null,
  operator: 'tx-spec',
  correlationId: 'tx-spec',
  causationId: 'tx-spec',
  traceId: null,
  producer: 'tx-spec',
  policyVersion: 1,
};

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('store_tx');
});

afterAll(async () => {
  await db?.drop();
});

/** Creates (if missing), locks and appends one event to `key`; returns the event id. */
const appendOne = async (c: pg.ClientBase, key: StreamKey): Promise<string> => {
  const { streams, now } = await lockStreams(c, TENANT, [key]);
  const stream = streams.get(streamKeyId(key));
  if (stream === undefined) throw new Error('stream not locked');
  const eventId = randomUUID();
  const event = {
    eventId,
    eventType: 'stockmind.stock.stock_received.v1',
    schemaVersion: 1,
    data: {},
    occurredAt: now,
  };
  await appendToStreams(c, TENANT, [{ stream, events: [event], state: { version: stream.version + 1 } }], META, now);
  return eventId;
};

const count = async (sql: string, values: unknown[] = []): Promise<number> => {
  const { rows } = await db.pool.query<{ n: string }>(sql, values);
  return Number(rows[0]?.n);
};

const streamExists = async (key: StreamKey): Promise<boolean> =>
  (await readStreams(db.pool, TENANT, [key])).has(streamKeyId(key));
const eventExists = async (eventId: string | undefined): Promise<boolean> =>
  (await count('select count(*) as n from events where event_id = $1', [eventId])) === 1;
const openTransactions = (): Promise<number> =>
  count(
    `select count(*) as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`,
  );

describe('inTransaction', () => {
  it('commits nothing when the signal fires after the work ran but before commit', async () => {
    const key = stockItemStreamKey('wh-1', 'sku-cancelled');
    const controller = new AbortController();
    let eventId: string | undefined;

    const call = inTransaction(db.pool, controller.signal, async (c) => {
      eventId = await appendOne(c, key);
      controller.abort(); // the client's deadline passes while the command is still in flight
      return { commit: true, value: 'done' };
    });

    await expect(call).rejects.toBeInstanceOf(CancelledBeforeCommit);
    expect(eventId).toBeDefined();
    expect(await eventExists(eventId)).toBe(false);
    expect(await streamExists(key)).toBe(false);
    expect(await openTransactions()).toBe(0);
  });

  it('does not run the work at all when the signal already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    let ran = false;
    const call = inTransaction(db.pool, controller.signal, async () => {
      ran = true;
      return { commit: true, value: undefined };
    });
    await expect(call).rejects.toBeInstanceOf(CancelledBeforeCommit);
    expect(ran).toBe(false);
  });

  it('commits nothing and returns the value when the work answers commit: false', async () => {
    const key = stockItemStreamKey('wh-1', 'sku-refused');
    let eventId: string | undefined;
    const value = await inTransaction(db.pool, undefined, async (c) => {
      eventId = await appendOne(c, key);
      return { commit: false, value: 'refused' };
    });
    expect(value).toBe('refused');
    expect(await eventExists(eventId)).toBe(false);
    expect(await streamExists(key)).toBe(false);
    expect(await openTransactions()).toBe(0);
  });

  it('commits what the work did when it answers commit: true', async () => {
    const key = stockItemStreamKey('wh-1', 'sku-committed');
    const eventId = await inTransaction(db.pool, new AbortController().signal, async (c) => ({
      commit: true,
      value: await appendOne(c, key),
    }));
    expect(await eventExists(eventId)).toBe(true);
  });

  it('retries a deadlock victim and applies each command exactly once', async () => {
    const x = stockItemStreamKey('wh-2', 'sku-x');
    const y = stockItemStreamKey('wh-2', 'sku-y');
    await inTransaction(db.pool, undefined, async (c) => ({
      commit: true,
      value: (await lockStreams(c, TENANT, [x, y])).streams,
    }));
    let runs = 0;
    let arrived = 0;
    let bothHoldOne: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (bothHoldOne = resolve));

    // Each command locks its streams in two steps, in opposite orders: the first attempts deadlock.
    const command = (first: StreamKey, second: StreamKey) => {
      let attempt = 0;
      return inTransaction(db.pool, undefined, async (c) => {
        runs++;
        attempt++;
        const a = await appendOne(c, first);
        if (attempt === 1) {
          if (++arrived === 2) bothHoldOne();
          await barrier;
        }
        const b = await appendOne(c, second);
        return { commit: true, value: [a, b] };
      });
    };

    const results = await Promise.all([command(x, y), command(y, x)]);
    // At least the victim's retry ran (more when a retry deadlocked again); each command applied once.
    expect(runs).toBeGreaterThanOrEqual(3);
    for (const id of results.flat()) expect(await eventExists(id)).toBe(true);
    const streams = await readStreams(db.pool, TENANT, [x, y]);
    expect([...streams.values()].map((s) => s.version)).toEqual([2, 2]);
    expect(await count('select count(*) as n from events')).toBe(
      await count('select coalesce(sum(version), 0) as n from streams'),
    );
  });
});
