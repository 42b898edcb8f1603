// The availability projector on real Postgres, JetStream and Redis: what the
// use cases write shows in QueryStock EVENTUAL from Redis; a restart resumes
// from the durable consumer; any delivery order with duplicates converges on
// the ledger; verify finds drift (CLI exit 1) and replay repairs it.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAvailabilityEvent, startAvailabilityProjector } from './projector.js';
import { startRelay } from '../relay/relay.js';
import { replayAvailability, verifyAvailability } from '../rebuild/rebuild.js';
import { buildCore } from '../../core/src/app/inventory.js';
import { createAvailabilityCache } from '../../core/src/readmodels/availabilityCache.js';
import { ensureEventStream } from '../../platform/nats.js';
import { EVENTS_NOTIFY_CHANNEL, availabilityKey, consumerName } from '../../contracts/names.js';
import { FIELDS, fromFields } from '../../contracts/availabilityRecord.js';
import { fromStoredEvent } from '../../contracts/envelope.js';
import { readInCommitOrder, START } from '../../core/src/store/commitOrder.js';
import { evolve, initialState } from '../../core/src/domain/stock/stockItem.js';
import { parseWireEventType } from '../../contracts/eventTypes.js';
import { createTestDatabase } from '../../test/support/db.js';
import { accepted, caller, receiveInput, reserveInput } from '../../test/support/app.js';
import { eventually } from '../../test/support/wait.js';
import {
  SHARED_NATS_URL,
  SHARED_REDIS_URL,
  cleanupNamespace,
  consumerBacklog,
  sharedNats,
  sharedRedis,
  silentLog,
  testNamespace,
} from '../../test/support/readside.js';
import { runCli } from '../../test/support/cli.js';
import { registerCatalog } from '../../test/support/catalog.js';
import type { Redis } from 'ioredis';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TestDatabase } from '../../test/support/db.js';
import type { Inventory } from '../../core/src/app/inventory.js';
import type { RefusalLog } from '../../core/src/app/refusals.js';
import type { Relay } from '../relay/relay.js';
import type { ConsumerLoop } from '../shared/consumer.js';
import type { Envelope } from '../../contracts/envelope.js';
import type { Levels } from '../../core/src/domain/stock/levels.js';
import type { StockItemEvent } from '../../core/src/domain/stock/stockItem.js';
import type { AvailabilityRecord } from '../../contracts/availabilityRecord.js';

const T = 'avail-tenant';
const ns = testNamespace('avail');

let db: TestDatabase;
let nc: NatsConnection;
let redis: Redis;
let cacheRedis: Redis;
let refusals: RefusalLog;
let inventory: Inventory;
let relay: Relay;
let projector: ConsumerLoop | null = null;

beforeAll(async () => {
  db = await createTestDatabase('avail');
  nc = await sharedNats('avail-spec');
  redis = sharedRedis('avail-spec');
  cacheRedis = sharedRedis('avail-spec-cache', 1_000);
  ({ inventory, refusals } = buildCore({
    pool: db.pool,
    log: silentLog,
    producer: 'test',
    availability: createAvailabilityCache(cacheRedis, ns),
    notifyChannel: EVENTS_NOTIFY_CHANNEL,
  }));
  // Every product and location written to below (mixedLoad's included); the catalog appends no events.
  await registerCatalog(inventory, T, {
    skus: ['sku-1', 'sku-2', 'sku-3', 'sku-q', 'sku-r'],
    locations: ['wh-1', 'store-9'],
  });
  await registerCatalog(inventory, 'prop-tenant', { skus: ['p-1', 'p-2'], locations: ['wh-1'] });
  await ensureEventStream(nc, ns);
  relay = await startRelay({ pool: db.pool, nc, namespace: ns, holderId: 'avail-spec', log: silentLog, pollMs: 50 });
  projector = await startAvailabilityProjector({ nc, redis, pool: db.pool, namespace: ns, log: silentLog });
});

afterAll(async () => {
  await projector?.stop();
  await relay?.stop();
  await cleanupNamespace(ns, { nc, redis });
  await nc?.close();
  redis?.disconnect();
  cacheRedis?.disconnect();
  await refusals?.close();
  await db?.drop();
});

let n = 0;
const receive = (tenant: string, sku: string, loc: string, qty: number) =>
  inventory.receive(caller(tenant), receiveInput(`mv-${++n}`, sku, loc, qty));

const record = async (
  namespace: string,
  tenant: string,
  loc: string,
  sku: string,
): Promise<AvailabilityRecord | null> =>
  fromFields(await redis.hmget(availabilityKey(namespace, tenant, loc, sku), ...FIELDS));

type Snapshot = { tenant_id: string; location_id: string; sku: string; version: number; levels: Levels };

/** Every stock item's snapshot row, and the fold of its events, straight from the ledger. */
const ledger = async (): Promise<{
  snapshots: Snapshot[];
  folds: Map<string, { version: number; levels: Levels }>;
}> => {
  const { rows } = await db.pool.query<Snapshot & { state: { levels: Levels } }>(
    `select tenant_id, location_id, sku, version, state from streams where kind = 'stock_item' and version > 0 order by stream_id`,
  );
  const events = await db.pool.query<{
    tenant_id: string;
    location_id: string;
    sku: string;
    event_type: string;
    data: StockItemEvent['data'];
    version: number;
  }>(
    `select s.tenant_id, s.location_id, s.sku, e.event_type, e.data, e.version
     from events e join streams s using (stream_id) where s.kind = 'stock_item' order by s.stream_id, e.version`,
  );
  const folds = new Map<string, { version: number; levels: Levels }>();
  for (const e of events.rows) {
    const id = JSON.stringify([e.tenant_id, e.location_id, e.sku]);
    const prev = folds.get(id) ?? { version: 0, levels: initialState().levels };
    expect(e.version).toBe(prev.version + 1);
    const type = parseWireEventType(e.event_type)?.domainType;
    folds.set(id, {
      version: e.version,
      levels: evolve({ levels: prev.levels }, { type, data: e.data } as StockItemEvent).levels,
    });
  }
  return { snapshots: rows.map((r) => ({ ...r, levels: r.state.levels })), folds };
};

const caughtUp = () =>
  eventually(
    async () => {
      expect((await relay.lag()).events).toBe(0);
      expect(await consumerBacklog(nc, ns, consumerName(ns, 'availability'))).toBe(0);
    },
    10_000,
    50,
  );

/** Redis holds, for every stock item, exactly the sequential fold of its events (which is also its snapshot). */
const expectRedisMatchesLedger = async () => {
  const { snapshots, folds } = await ledger();
  expect(snapshots.length).toBeGreaterThan(0);
  for (const s of snapshots) {
    const fold = folds.get(JSON.stringify([s.tenant_id, s.location_id, s.sku]));
    expect(fold).toEqual({ version: s.version, levels: s.levels });
    const r = await record(ns, s.tenant_id, s.location_id, s.sku);
    expect({ item: [s.location_id, s.sku], version: r?.version, levels: r?.levels }).toEqual({
      item: [s.location_id, s.sku],
      ...fold,
    });
  }
};

/** A mixed load: receipts, reservations (multi-line), confirmations, shipments and releases, partly concurrent. */
const mixedLoad = async (tenant: string, tag: string) => {
  const skus = ['sku-1', 'sku-2', 'sku-3'];
  const locs = ['wh-1', 'store-9'];
  for (const loc of locs) for (const sku of skus) await receive(tenant, sku, loc, 30);
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const id = `${tag}-${i}`;
      const lines: [string, string, number][] = [
        [skus[i % 3] as string, locs[i % 2] as string, 2],
        [skus[(i + 1) % 3] as string, 'wh-1', 1],
      ];
      accepted(await inventory.reserve(caller(tenant), reserveInput(id, lines)));
      if (i % 3 === 0) accepted(await inventory.release(caller(tenant), id, 'changed mind'));
      if (i % 3 === 1) {
        accepted(await inventory.confirm(caller(tenant), id, `order-${id}`));
        accepted(await inventory.fulfil(caller(tenant), id, `ship-${id}`));
      }
    }),
  );
};

describe('QueryStock EVENTUAL', () => {
  it('shows a reservation made through the use cases, served from Redis at the ledger version', async () => {
    await receive(T, 'sku-q', 'wh-1', 10);
    accepted(await inventory.reserve(caller(T), reserveInput('res-q', [['sku-q', 'wh-1', 3]])));
    const { rows } = await db.pool.query<{ version: number; recorded_at: Date }>(
      `select e.version, e.recorded_at from events e join streams s using (stream_id)
       where s.tenant_id = $1 and s.kind = 'stock_item' and s.sku = 'sku-q' order by e.version desc limit 1`,
      [T],
    );
    const last = rows[0];
    expect(last?.version).toBe(2);

    await eventually(async () => {
      const [view] = await inventory.queryStock(caller(T), [{ sku: 'sku-q', locationId: 'wh-1' }], 'EVENTUAL');
      // The ledger fallback answers "as of" the read; only the projection answers as of the event.
      expect(view).toMatchObject({
        version: 2,
        levels: { onHand: 10, reserved: 3 },
        available: 7,
        stale: false,
        asOf: last?.recorded_at.toISOString(),
      });
    }, 5_000);
    expect(await record(ns, T, 'wh-1', 'sku-q')).toMatchObject({ version: 2, levels: { onHand: 10, reserved: 3 } });
  });
});

describe('restart', () => {
  it('resumes after a stop and ends with the state a sequential fold of the ledger gives', async () => {
    await projector?.stop();
    projector = null;
    await receive(T, 'sku-r', 'wh-1', 8);
    await mixedLoad(T, 'restart');
    await eventually(async () => expect((await relay.lag()).events).toBe(0), 10_000);
    // Nothing moves while it is stopped.
    expect(await record(ns, T, 'wh-1', 'sku-r')).toBeNull();

    projector = await startAvailabilityProjector({ nc, redis, pool: db.pool, namespace: ns, log: silentLog });
    await caughtUp();
    await expectRedisMatchesLedger();
  });
});

describe('any delivery order converges', () => {
  it('ends at the ledger state whatever the order and duplicates, never going back a version', async () => {
    const P = 'prop-tenant';
    await receive(P, 'p-1', 'wh-1', 20);
    await receive(P, 'p-2', 'wh-1', 20);
    for (let i = 0; i < 4; i++) {
      const id = `prop-${i}`;
      accepted(
        await inventory.reserve(
          caller(P),
          reserveInput(id, [
            ['p-1', 'wh-1', 2],
            ['p-2', 'wh-1', 1 + i],
          ]),
        ),
      );
      if (i % 2 === 0) accepted(await inventory.release(caller(P), id, 'test'));
      else accepted(await inventory.confirm(caller(P), id, `o-${i}`));
    }
    accepted(await inventory.fulfil(caller(P), 'prop-1', 'ship'));
    // Reading in commit order holds back events while any older transaction in the cluster is open
    // (other specs' too): read until every stock event of P is there.
    const { rows: counted } = await db.pool.query<{ n: string }>(
      `select count(*) as n from events e join streams s using (stream_id) where s.tenant_id = $1 and s.kind = 'stock_item'`,
      [P],
    );
    let envelopes: Envelope[] = [];
    await eventually(
      async () => {
        envelopes = [];
        for (let cp = START; ;) {
          const batch = await readInCommitOrder(db.pool, cp, 1_000);
          if (batch.events.length === 0) break;
          envelopes.push(
            ...batch.events.filter((e) => e.tenantId === P && e.stream.kind === 'stock_item').map(fromStoredEvent),
          );
          cp = batch.checkpoint;
        }
        expect(envelopes).toHaveLength(Number(counted[0]?.n));
      },
      10_000,
      50,
    );
    expect(envelopes.length).toBeGreaterThan(12);
    const levelsAt = new Map(
      envelopes.map((e) => [
        JSON.stringify([e.stream.sku, e.streamVersion]),
        (e.payload as { levelsAfter: Levels }).levelsAfter,
      ]),
    );
    const { snapshots } = await ledger();
    const finals = snapshots.filter((s) => s.tenant_id === P);

    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: envelopes.length - 1 }), { maxLength: envelopes.length }).chain((dups) => {
          const all = [...envelopes.keys(), ...dups];
          return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
        }),
        async (order) => {
          const runNs = `${ns}-p${++run}`;
          const seen = new Map<string, number>();
          try {
            for (const i of order) {
              const e = envelopes[i] as Envelope;
              await applyAvailabilityEvent({ redis, pool: db.pool, namespace: runNs }, e);
              const r = await record(runNs, P, 'wh-1', e.stream.sku);
              if (r === null) throw new Error('nothing written');
              // Never older than before, and always a state the ledger actually had at that version.
              expect(r.version).toBeGreaterThanOrEqual(seen.get(e.stream.sku) ?? 0);
              expect(r.levels).toEqual(levelsAt.get(JSON.stringify([e.stream.sku, r.version])));
              seen.set(e.stream.sku, r.version);
            }
            for (const s of finals) {
              expect(await record(runNs, P, s.location_id, s.sku)).toMatchObject({
                version: s.version,
                levels: s.levels,
              });
            }
          } finally {
            await redis.del(availabilityKey(runNs, P, 'wh-1', 'p-1'), availabilityKey(runNs, P, 'wh-1', 'p-2'));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('verify and replay', () => {
  const env = () => ({
    DATABASE_URL: db.url,
    REDIS_URL: SHARED_REDIS_URL,
    NATS_URL: SHARED_NATS_URL,
    STOCKMIND_NAMESPACE: ns,
  });

  it('finds no drift after a mixed load', async () => {
    await mixedLoad(T, 'verify');
    await caughtUp();
    const { checked, drift } = await verifyAvailability({ pool: db.pool, redis, namespace: ns, settleMs: 200 });
    expect(drift).toEqual([]);
    expect(checked).toBe((await ledger()).snapshots.length);
  });

  it('reports a corrupted, a missing and an orphan hash (the CLI exits 1), and replay repairs them', async () => {
    await redis.hset(availabilityKey(ns, T, 'wh-1', 'sku-1'), 'onHand', '999');
    await redis.del(availabilityKey(ns, T, 'store-9', 'sku-2'));
    await redis.hset(
      availabilityKey(ns, T, 'wh-ghost', 'sku-ghost'),
      'version',
      '1',
      'onHand',
      '5',
      'asOf',
      new Date().toISOString(),
    );

    const { drift } = await verifyAvailability({ pool: db.pool, redis, namespace: ns, settleMs: 200 });
    expect(drift.map((d) => [d.locationId, d.sku]).sort()).toEqual([
      ['store-9', 'sku-2'],
      ['wh-1', 'sku-1'],
      ['wh-ghost', 'sku-ghost'],
    ]);
    expect(drift.find((d) => d.sku === 'sku-1')?.readModel).toContain('on_hand=999');
    expect(drift.find((d) => d.sku === 'sku-2')?.readModel).toBe('missing');
    expect(drift.find((d) => d.sku === 'sku-ghost')?.ledger).toBe('missing');

    const cli = await runCli(['verify', 'availability'], env());
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/DRIFT tenant=avail-tenant location="wh-1" sku="sku-1"/);
    expect(cli.stdout).toMatch(/3 drifting/);

    const { items } = await replayAvailability({ pool: db.pool, redis, namespace: ns });
    expect(items).toBe((await ledger()).snapshots.length);
    expect((await verifyAvailability({ pool: db.pool, redis, namespace: ns, settleMs: 200 })).drift).toEqual([]);
    await expectRedisMatchesLedger();
    // Read-side changes after a replay still apply on top of it.
    accepted(await inventory.reserve(caller(T), reserveInput(`after-replay-${randomUUID()}`, [['sku-1', 'wh-1', 1]])));
    await caughtUp();
    await expectRedisMatchesLedger();
  });
});
