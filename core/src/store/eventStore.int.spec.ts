// The event store against a real Postgres: the versioned append is the last
// guard against overselling, and a multi-stream append is all or nothing.
import { rejection as failure } from '../../../test/support/app.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/db.js';
import { newEvent, specMetadata, storeHelpers, streamOf } from '../../../test/support/store.js';
import { isPgError } from '../../../platform/postgres/pool.js';
import { ConcurrencyError, appendToStreams, readStreams, stockItemStreamKey, streamKeyId } from './eventStore.js';
import { inTransaction } from '../../../platform/postgres/tx.js';
import type { TestDatabase } from '../../../test/support/db.js';
import type { StoredStream, StreamKey } from './eventStore.js';
import type { StreamRow } from '../../../test/support/store.js';

const TENANT = 'acme';
const META = specMetadata('event-store-spec');

const isVersionConflict = (err: unknown): boolean => err instanceof ConcurrencyError || isPgError(err, '23505');

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('store_event_store');
});

afterAll(async () => {
  await db?.drop();
});

const { streamRow, eventsOf, createStreams, appendLocked } = storeHelpers(() => db.pool, TENANT, META);

describe('versioned append without the lock', () => {
  it('lets exactly one of 20 concurrent appends at the same expected version win', async () => {
    const key = stockItemStreamKey('wh-1', 'sku-race');
    await createStreams([key]);
    const snapshot = streamOf(await readStreams(db.pool, TENANT, [key]), key);
    expect(snapshot.version).toBe(0);

    const N = 20;
    const clients = await Promise.all(Array.from({ length: N }, () => db.pool.connect()));
    const attempts = clients.map((_, i) => ({ event: newEvent({ writer: i }), state: { writer: i } }));
    let results: PromiseSettledResult<void>[];
    try {
      await Promise.all(clients.map((c) => c.query('begin')));
      results = await Promise.allSettled(
        clients.map(async (c, i) => {
          const a = attempts[i]!;
          try {
            await appendToStreams(
              c,
              TENANT,
              [{ stream: snapshot, events: [a.event], state: a.state }],
              META,
              new Date(),
            );
            await c.query('commit');
          } catch (err) {
            await c.query('rollback');
            throw err;
          }
        }),
      );
    } finally {
      for (const c of clients) c.release();
    }

    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(N - 1);
    for (const err of lost) expect(isVersionConflict(err), String(err)).toBe(true);

    const winner = attempts[won[0]!]!;
    expect(await eventsOf(key)).toEqual([{ version: 1, event_id: winner.event.eventId, data: winner.event.data }]);
    expect(await streamRow(key)).toMatchObject({ version: 1, state: winner.state });
  });
});

describe('multi-stream append', () => {
  const keys = [
    stockItemStreamKey('wh-2', 'sku-a'),
    stockItemStreamKey('wh-2', 'sku-b'),
    stockItemStreamKey('wh-2', 'sku-c'),
  ] as const;
  const [a, b, c] = keys;

  /** A, B and C at version 1, a snapshot of all three, then B moves on: the snapshot of B is stale. */
  const staleSetup = async (): Promise<{ snapshot: Map<string, StoredStream>; before: StreamRow[] }> => {
    for (const k of keys) await appendLocked(k, { setup: streamKeyId(k) });
    const snapshot = await readStreams(db.pool, TENANT, [...keys]);
    await appendLocked(b, { movedOn: true });
    const before = await Promise.all(keys.map(streamRow));
    return { snapshot, before };
  };

  const threeStreamAppend = (snapshot: Map<string, StoredStream>, order: StreamKey[]) => {
    const events = order.map((k) => [newEvent({ k: streamKeyId(k), n: 1 }), newEvent({ k: streamKeyId(k), n: 2 })]);
    const appends = order.map((k, i) => ({
      stream: streamOf(snapshot, k),
      events: events[i]!,
      state: { overwritten: true },
    }));
    return { appends, eventIds: events.flat().map((e) => e.eventId) };
  };

  const expectNothingWritten = async (before: StreamRow[], eventIds: string[]): Promise<void> => {
    expect(await Promise.all(keys.map(streamRow))).toEqual(before);
    const { rows } = await db.pool.query<{ n: string }>(
      'select count(*) as n from events where event_id = any($1::uuid[])',
      [eventIds],
    );
    expect(Number(rows[0]?.n)).toBe(0);
  };

  it('writes nothing to any of three streams when one expected version is stale (in a transaction)', async () => {
    const { snapshot, before } = await staleSetup();
    expect(before.map((r) => r.version)).toEqual([1, 2, 1]);
    const { appends, eventIds } = threeStreamAppend(snapshot, [a, b, c]);

    const err = await failure(
      inTransaction(db.pool, undefined, async (cl) => {
        await appendToStreams(cl, TENANT, appends, META, new Date());
        return { commit: true, value: undefined };
      }),
    );
    expect(isVersionConflict(err), String(err)).toBe(true);
    await expectNothingWritten(before, eventIds);
  });

  it('is atomic on its own: a stale stream listed last leaves the other two untouched without an explicit transaction', async () => {
    const { snapshot, before } = await staleSetup();
    const { appends, eventIds } = threeStreamAppend(snapshot, [a, c, b]);

    const client = await db.pool.connect();
    try {
      const err = await failure(appendToStreams(client, TENANT, appends, META, new Date()));
      expect(isVersionConflict(err), String(err)).toBe(true);
    } finally {
      client.release();
    }
    await expectNothingWritten(before, eventIds);
  });

  it('writes nothing when an expected version is ahead of the stream, even without an explicit transaction', async () => {
    const { before } = await staleSetup();
    const snapshot = await readStreams(db.pool, TENANT, [...keys]);
    const bNow = streamOf(snapshot, b);
    snapshot.set(streamKeyId(b), { ...bNow, version: bNow.version + 3 });
    // No stored event sits at the versions this append would take, so only the version check can refuse it.
    const { appends, eventIds } = threeStreamAppend(snapshot, [a, b, c]);

    const client = await db.pool.connect();
    try {
      expect(await failure(appendToStreams(client, TENANT, appends, META, new Date()))).toBeInstanceOf(
        ConcurrencyError,
      );
      expect(client.getTransactionStatus()).toBe('I');
    } finally {
      client.release();
    }
    await expectNothingWritten(before, eventIds);
  });
});
