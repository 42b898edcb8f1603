// Reading the log in commit order against a real Postgres: a transaction that
// took a lower global_position but commits later must never be skipped, and
// batches from START deliver every committed event exactly once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/db.js';
import { START, readInCommitOrder } from './commitOrder.js';
import { appendToStreams, lockStreams, stockItemStreamKey, streamKeyId } from './eventStore.js';
import { inTransaction } from '../../../platform/postgres/tx.js';
import type pg from 'pg';
import type { TestDatabase } from '../../../test/support/db.js';
import type { Checkpoint, CommittedEvent } from './commitOrder.js';
import type { EventMetadata, StreamKey } from './eventStore.js';
import { eventually, sleep } from '../../../test/support/wait.js';

const META: EventMetadata = {
  channel: null,
  operator: 'commit-order-spec',
  correlationId: 'commit-order-spec',
  causationId: 'commit-order-spec',
  traceId: null,
  producer: 'commit-order-spec',
  policyVersion: 1,
};

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('store_commit_order');
});

afterAll(async () => {
  await db?.drop();
});

/** Locks the stream and appends `count` events on an open transaction; returns their ids. */
const append = async (c: pg.ClientBase, tenant: string, key: StreamKey, count = 1): Promise<string[]> => {
  const { streams, now } = await lockStreams(c, tenant, [key]);
  const stream = streams.get(streamKeyId(key));
  if (stream === undefined) throw new Error('stream not locked');
  const events = Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    eventType: 'stockmind.stock.stock_received.v1',
    schemaVersion: 1,
    data: { n: stream.version + i + 1 },
    occurredAt: now,
  }));
  await appendToStreams(c, tenant, [{ stream, events, state: { version: stream.version + count } }], META, now);
  return events.map((e) => e.eventId);
};

/**
 * Reads on from `after` until `want` events arrived. Any write transaction in the
 * cluster (other databases included) holds the reader back, so this waits a bounded time.
 */
const readUntil = async (
  after: Checkpoint,
  want: number,
  limit: number,
): Promise<{ events: CommittedEvent[]; checkpoint: Checkpoint }> => {
  const events: CommittedEvent[] = [];
  let checkpoint = after;
  await eventually(
    async () => {
      const batch = await readInCommitOrder(db.pool, checkpoint, limit);
      events.push(...batch.events);
      checkpoint = batch.checkpoint;
      if (events.length < want) throw new Error(`read ${events.length} of ${want} events`);
    },
    5_000,
    20,
  ).catch(() => undefined); // the caller asserts what was read
  return { events, checkpoint };
};

const order = (e: CommittedEvent): [bigint, bigint] => [BigInt(e.txId), BigInt(e.globalPosition)];
const isAfter = (a: CommittedEvent, b: CommittedEvent): boolean => {
  const [at, ap] = order(a);
  const [bt, bp] = order(b);
  return at > bt || (at === bt && ap > bp);
};

describe('reading in commit order', () => {
  it('holds back a later commit until an earlier-positioned open transaction commits, then returns both once', async () => {
    const a = await db.pool.connect();
    let aIds: string[];
    let bIds: string[];
    try {
      await a.query('begin');
      aIds = await append(a, 'acme', stockItemStreamKey('wh-1', 'sku-a'));
      bIds = await inTransaction(db.pool, undefined, async (c) => ({
        commit: true,
        value: await append(c, 'acme', stockItemStreamKey('wh-1', 'sku-b')),
      }));

      const whileAOpen = await readInCommitOrder(db.pool, START, 100);
      expect(whileAOpen.events.map((e) => e.eventId)).toEqual([]);
      expect(whileAOpen.checkpoint).toEqual(START);

      await a.query('commit');
    } catch (err) {
      await a.query('rollback');
      throw err;
    } finally {
      a.release();
    }

    const { events, checkpoint } = await readUntil(START, 2, 100);
    expect(events.map((e) => e.eventId)).toEqual([...aIds, ...bIds]);
    const [first, second] = events;
    // A took the lower position: a reader that had moved past B by position would have lost A for good.
    expect(BigInt(first!.globalPosition)).toBeLessThan(BigInt(second!.globalPosition));
    expect(first).toMatchObject({
      tenantId: 'acme',
      streamVersion: 1,
      stream: { kind: 'stock_item', locationId: 'wh-1', sku: 'sku-a' },
    });
    expect(checkpoint).toEqual({ txId: second!.txId, position: second!.globalPosition });

    expect((await readInCommitOrder(db.pool, checkpoint, 100)).events).toEqual([]);
  });

  it('returns every event exactly once, in batches of 7, while concurrent writers commit out of position order', async () => {
    const WRITERS = 8;
    const TXS = 25;
    let writing = true;
    const written: string[] = [];
    const writers = Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const key = stockItemStreamKey('wh-2', `sku-${w}`);
        for (let t = 0; t < TXS; t++) {
          await inTransaction(db.pool, undefined, async (c) => {
            const ids = await append(c, 'batch', key, (t % 3) + 1);
            // Commit a little later, so transactions commit out of their position order.
            await c.query('select pg_sleep(random() * 0.004)');
            return { commit: true, value: ids };
          }).then((ids) => written.push(...ids));
        }
      }),
    ).finally(() => {
      writing = false;
    });

    const seen: CommittedEvent[] = [];
    let checkpoint = START;
    while (writing) {
      const batch = await readInCommitOrder(db.pool, checkpoint, 7);
      seen.push(...batch.events);
      checkpoint = batch.checkpoint;
      // A reader polling beside the writers, as the relay does: the interleaving is the point.
      if (batch.events.length === 0) await sleep(2);
    }
    await writers;
    const { rows } = await db.pool.query<{ event_id: string }>('select event_id from events');
    const rest = await readUntil(checkpoint, rows.length - seen.length, 7);
    seen.push(...rest.events);

    const ids = seen.map((e) => e.eventId);
    expect(written.length).toBeGreaterThan(300);
    expect(ids.filter((id) => written.includes(id))).toHaveLength(written.length);
    expect(ids).toHaveLength(rows.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(rows.map((r) => r.event_id)));
    expect(seen.slice(1).every((e, i) => isAfter(e, seen[i]!))).toBe(true);
    // Per stream, consumers see versions 1, 2, 3… in order.
    const versions = new Map<string, number[]>();
    for (const e of seen) versions.set(e.streamId, [...(versions.get(e.streamId) ?? []), e.streamVersion]);
    for (const v of versions.values()) expect(v).toEqual(Array.from({ length: v.length }, (_, i) => i + 1));
    expect((await readInCommitOrder(db.pool, rest.checkpoint, 7)).events).toEqual([]);
  });
});
