// The relay on real Postgres and JetStream: every committed event reaches the
// stream once, in commit order, with the wire envelope and Nats-Msg-Id =
// eventId; one active relay per name; a crash between publish and checkpoint
// loses nothing and duplicates nothing; lag is visible.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay } from './relay.js';
import { ensureEventStream } from '../../platform/nats.js';
import { eventSubject, encodePart } from '../../contracts/names.js';
import { accepted, caller, receiveInput, reserveInput, startApp } from '../../test/support/app.js';
import { eventually, sleep } from '../../test/support/wait.js';
import {
  cleanupNamespace,
  readStream,
  sharedNats,
  silentLog,
  streamMessageCount,
  testNamespace,
} from '../../test/support/readside.js';
import { registerCatalog } from '../../test/support/catalog.js';
import type pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AppHarness } from '../../test/support/app.js';
import type { Relay, RelayOptions } from './relay.js';

const T = 'relay-tenant';
const ENVELOPE_FIELDS = [
  'eventId',
  'eventType',
  'schemaVersion',
  'tenantId',
  'streamId',
  'streamVersion',
  'globalPosition',
  'occurredAt',
  'recordedAt',
  'producer',
  'correlationId',
  'causationId',
  'traceId',
  'traceparent',
  'channel',
  'operator',
  'payload',
];

let app: AppHarness;
let nc: NatsConnection;
const namespaces: string[] = [];
const running = new Set<Relay>();

beforeAll(async () => {
  app = await startApp('relay');
  // The catalog appends no events: registering keeps the ledger (and the stream) exactly what the tests write.
  await registerCatalog(app.inventory, T, {
    skus: ['sku-a', 'sku-b', 'sku-c', 'sku-d', 'sku-e', 'sku-f', 'sku-g'],
    locations: ['wh-1', 'wh-2'],
  });
  nc = await sharedNats('relay-spec');
});

afterAll(async () => {
  for (const r of running) await r.stop();
  for (const ns of namespaces) await cleanupNamespace(ns, { nc });
  await nc?.close();
  await app?.close();
});

const newNamespace = async (): Promise<string> => {
  const ns = testNamespace('relay');
  namespaces.push(ns);
  await ensureEventStream(nc, ns);
  return ns;
};

const relay = async (namespace: string, o: Partial<RelayOptions> = {}): Promise<Relay> => {
  const r = await startRelay({
    pool: app.db.pool,
    nc,
    namespace,
    holderId: `test-${randomUUID().slice(0, 8)}`,
    log: silentLog,
    pollMs: 50,
    ...o,
  });
  running.add(r);
  return r;
};

const stop = async (r: Relay) => {
  await r.stop();
  running.delete(r);
};

/** Event ids in the order the relay must publish them: by transaction, then position. */
const ledgerOrder = async (): Promise<string[]> =>
  (
    await app.db.pool.query<{ event_id: string }>('select event_id from events order by tx_id, global_position')
  ).rows.map((r) => r.event_id);

const eventCount = async (): Promise<number> =>
  Number((await app.db.pool.query<{ n: string }>('select count(*) as n from events')).rows[0]?.n);

// JetStream holds a message a moment before the relay counts it (it counts after the checkpoint):
// read published() with eventually() after allArrived().
const allArrived = (ns: string, timeoutMs = 10_000) =>
  eventually(async () => expect(await streamMessageCount(nc, ns)).toBe(await eventCount()), timeoutMs, 50);

/** The pool, recording whether each of the relay's lease attempts got the lease. */
const withLeaseAttempts = (pool: pg.Pool): { pool: pg.Pool; attempts: boolean[] } => {
  const attempts: boolean[] = [];
  const watched = new Proxy(pool, {
    get(target, prop) {
      if (prop !== 'query') {
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      const query = target.query.bind(target) as (...args: unknown[]) => Promise<pg.QueryResult>;
      return async (...args: unknown[]) => {
        const result = await query(...args);
        if ((args[0] as { name?: string }).name === 'sm_relay_lease') attempts.push(result.rowCount === 1);
        return result;
      };
    },
  });
  return { pool: watched, attempts };
};

let movement = 0;
const receive = (sku: string, loc: string, qty: number) =>
  app.inventory.receive(caller(T), receiveInput(`mv-${++movement}`, sku, loc, qty));

describe('publishing', () => {
  it('publishes every committed event once, in commit order, with the wire envelope and Nats-Msg-Id = eventId', async () => {
    const who = caller(T);
    await receive('sku-a', 'wh-1', 40);
    await receive('sku-b', 'wh-2', 10);
    accepted(
      await app.inventory.reserve(
        who,
        reserveInput('r-1', [
          ['sku-a', 'wh-1', 5],
          ['sku-b', 'wh-2', 2],
        ]),
      ),
    );
    accepted(await app.inventory.confirm(caller(T), 'r-1', 'order-1'));
    accepted(await app.inventory.fulfil(caller(T), 'r-1', 'ship-1'));
    accepted(await app.inventory.reserve(caller(T), reserveInput('r-2', [['sku-a', 'wh-1', 3]])));
    accepted(await app.inventory.release(caller(T), 'r-2', 'customer cancelled'));
    // Concurrent writers on one hot stream: commit order differs from the order positions were taken in.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        app.inventory.reserve(caller(T), reserveInput(`hot-${i}`, [['sku-a', 'wh-1', 1]])),
      ),
    );

    const ns = await newNamespace();
    const r = await relay(ns);
    await allArrived(ns);

    const stored = await readStream(nc, ns);
    expect(stored.map((m) => m.envelope.eventId)).toEqual(await ledgerOrder());
    await eventually(async () => expect(r.published()).toBe(stored.length));
    for (const m of stored) {
      expect(m.msgId).toBe(m.envelope.eventId);
      expect(Object.keys(m.envelope)).toEqual(expect.arrayContaining(ENVELOPE_FIELDS));
      expect(m.envelope.eventType).toMatch(/^stockmind\.(stock|reservations)\.[a-z_]+\.v1$/);
      expect(m.subject).toBe(eventSubject(ns, T, m.envelope.eventType));
    }
    // Each transaction's events stay together, in the order they were appended.
    const byTx = await app.db.pool.query<{ event_ids: string[] }>(
      'select array_agg(event_id::text order by global_position) as event_ids from events group by tx_id',
    );
    const order = stored.map((m) => m.envelope.eventId);
    for (const { event_ids: ids } of byTx.rows) {
      const at = order.indexOf(ids[0] ?? '');
      expect(order.slice(at, at + ids.length)).toEqual(ids);
    }

    // One envelope checked field by field against the ledger row it came from.
    const { rows } = await app.db.pool.query<{
      event_id: string;
      global_position: string;
      occurred_at: Date;
      recorded_at: Date;
      version: number;
      data: unknown;
      metadata: Record<string, unknown>;
    }>(
      `select e.event_id, e.global_position::text as global_position, e.occurred_at, e.recorded_at, e.version, e.data, e.metadata
       from events e join streams s using (stream_id)
       where s.kind = 'stock_item' and s.sku = 'sku-b' and e.event_type = 'stockmind.stock.stock_reserved.v1'`,
    );
    const row = rows[0];
    if (row === undefined) throw new Error('no stock_reserved event for sku-b');
    const reserved = stored.find((m) => m.envelope.eventId === row.event_id)?.envelope;
    expect(reserved).toEqual({
      eventId: row.event_id,
      eventType: 'stockmind.stock.stock_reserved.v1',
      schemaVersion: 1,
      tenantId: T,
      streamId: `stock_item.${encodePart('wh-2')}.${encodePart('sku-b')}`,
      stream: { kind: 'stock_item', locationId: 'wh-2', sku: 'sku-b', reservationId: '' },
      streamVersion: row.version,
      globalPosition: row.global_position,
      occurredAt: row.occurred_at.toISOString(),
      recordedAt: row.recorded_at.toISOString(),
      producer: 'test',
      correlationId: who.correlationId,
      causationId: 'r-1',
      traceId: null,
      traceparent: null,
      channel: 'ECOMMERCE',
      operator: `${T}-tester`,
      policyVersion: 0,
      payload: row.data,
    });
    expect(reserved?.payload).toMatchObject({
      reservationId: 'r-1',
      quantity: 2,
      levelsAfter: { onHand: 10, reserved: 2 },
    });
  });
});

describe('one active relay per name', () => {
  it('lets only one of two relays publish, and the standby takes over when the leader stops', async () => {
    const ns = await newNamespace();
    const name = `pair-${ns}`;
    const [a, b] = await Promise.all([relay(ns, { name }), relay(ns, { name })]);
    await allArrived(ns);
    await receive('sku-c', 'wh-1', 3);
    await receive('sku-c', 'wh-1', 4);
    await allArrived(ns);

    const total = await eventCount();
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    await eventually(async () => expect(leader.published()).toBe(total));
    expect(standby.published()).toBe(0);

    await stop(leader);
    await receive('sku-c', 'wh-1', 5);
    await receive('sku-d', 'wh-1', 6);
    const stoppedAt = Date.now();
    await allArrived(ns, 8_000);
    expect(Date.now() - stoppedAt).toBeLessThan(8_000);
    expect(standby.isLeader()).toBe(true);
    // It continued from the leader's checkpoint: only the two new events, nothing republished.
    await eventually(async () => expect(standby.published()).toBe(2));
    expect((await readStream(nc, ns)).map((m) => m.envelope.eventId)).toEqual(await ledgerOrder());
  });

  it('waits out the lease of a holder that died without releasing it, then publishes', async () => {
    const ns = await newNamespace();
    const name = `crash-${ns}`;
    const first = await relay(ns, { name });
    await allArrived(ns);
    await stop(first);
    // A holder that crashed keeps its lease until it expires.
    await app.db.pool.query(
      `update relay_leases set holder = 'crashed', expires_at = clock_timestamp() + interval '2 seconds' where name = $1`,
      [name],
    );
    const before = await streamMessageCount(nc, ns);
    const watched = withLeaseAttempts(app.db.pool);
    const next = await relay(ns, { name, leaseMs: 2_000, pool: watched.pool });
    await receive('sku-e', 'wh-1', 1);
    // It has tried for the lease (and been refused: the crashed holder's lease runs for 2 s).
    await eventually(async () => expect(watched.attempts.length).toBeGreaterThan(0));
    expect(watched.attempts[0]).toBe(false);
    expect(next.isLeader()).toBe(false);
    expect(await streamMessageCount(nc, ns)).toBe(before);
    await allArrived(ns, 8_000);
    expect(next.isLeader()).toBe(true);
    await eventually(async () => expect(next.published()).toBe(1));
  });
});

describe('a crash between publish and checkpoint', () => {
  it('republishes from the older checkpoint, and JetStream stores each event once', async () => {
    const ns = await newNamespace();
    const first = await relay(ns);
    await allArrived(ns);
    await stop(first);
    const published = await ledgerOrder();

    // As if the relay published everything but died before saving its checkpoint for the last half.
    const back = Math.floor(published.length / 2);
    const { rows } = await app.db.pool.query<{ tx_id: string; position: string }>(
      'select tx_id::text as tx_id, global_position::text as position from events where event_id = $1',
      [published[published.length - back - 1]],
    );
    await app.db.pool.query('update relay_checkpoints set tx_id = $2::xid8, position = $3::bigint where name = $1', [
      ns,
      rows[0]?.tx_id,
      rows[0]?.position,
    ]);
    await receive('sku-f', 'wh-1', 2);
    await receive('sku-f', 'wh-1', 3);

    const second = await relay(ns);
    await eventually(async () => expect(second.published()).toBe(back + 2), 10_000, 50);
    expect(await streamMessageCount(nc, ns)).toBe(await eventCount());
    const stored = await readStream(nc, ns);
    expect(new Set(stored.map((m) => m.envelope.eventId)).size).toBe(stored.length);
    expect(stored.map((m) => m.envelope.eventId)).toEqual(await ledgerOrder());
  });
});

describe('lag', () => {
  it('reports how many events and how many seconds the relay is behind, and zero once it caught up', async () => {
    const ns = await newNamespace();
    const first = await relay(ns);
    await allArrived(ns);
    await eventually(async () => expect(await first.lag()).toEqual({ events: 0, seconds: 0 }));
    await stop(first);

    await receive('sku-g', 'wh-1', 1);
    await receive('sku-g', 'wh-1', 1);
    await receive('sku-g', 'wh-1', 1);
    // The lag in seconds is what is measured: a real second must pass.
    await sleep(1_100);
    const lag = await first.lag();
    expect(lag.events).toBe(3);
    expect(lag.seconds).toBeGreaterThanOrEqual(1);
    expect(lag.seconds).toBeLessThan(60);

    const second = await relay(ns);
    await eventually(async () => expect(await second.lag()).toEqual({ events: 0, seconds: 0 }), 5_000);
    expect(await streamMessageCount(nc, ns)).toBe(await eventCount());
  });
});
