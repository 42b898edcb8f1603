// The analytics projector on real Postgres and JetStream: one fact per stock
// movement and daily positions in the tenant's time zone; redelivery never
// double counts; a replay from the ledger rebuilds the same rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordMovement, startAnalyticsProjector } from './projector.js';
import { migrateAnalytics } from './schema.js';
import { startRelay } from '../relay/relay.js';
import { replayAnalytics } from '../rebuild/rebuild.js';
import { createPolicySource } from '../../core/src/store/policies.js';
import { ensureEventStream } from '../../platform/nats.js';
import { consumerName } from '../../contracts/names.js';
import { fromStoredEvent } from '../../contracts/envelope.js';
import { readInCommitOrder, START } from '../../core/src/store/commitOrder.js';
import { createTestDatabase } from '../../test/support/db.js';
import { accepted, caller, receiveInput, reserveInput, startApp } from '../../test/support/app.js';
import { eventually } from '../../test/support/wait.js';
import { registerCatalog } from '../../test/support/catalog.js';
import {
  cleanupNamespace,
  consumerBacklog,
  sharedNats,
  silentLog,
  testNamespace,
} from '../../test/support/readside.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AppHarness } from '../../test/support/app.js';
import type { TestDatabase } from '../../test/support/db.js';
import type { Relay } from '../relay/relay.js';
import type { ConsumerLoop } from '../shared/consumer.js';
import type { Envelope } from '../../contracts/envelope.js';
import type { PolicySource } from '../../core/src/store/policies.js';

const T = 'analytics-tenant';
const TZ_TENANT = 'far-tz-tenant';
// A zone whose calendar day differs from UTC's right now (UTC-12 before noon UTC, UTC+14 after).
const FAR_TZ = new Date().getUTCHours() < 11 ? 'Etc/GMT+12' : 'Pacific/Kiritimati';
const ns = testNamespace('analytics');

let app: AppHarness;
let analytics: TestDatabase;
let nc: NatsConnection;
let relay: Relay;
let policies: PolicySource;
let projector: ConsumerLoop | null = null;

const startProjector = async () => {
  projector = await startAnalyticsProjector({
    nc,
    analytics: analytics.pool,
    pool: app.db.pool,
    policies,
    namespace: ns,
    log: silentLog,
  });
};

beforeAll(async () => {
  app = await startApp('analytics');
  await registerCatalog(app.inventory, T, { skus: ['sku-a', 'sku-b'], locations: ['wh-1'] });
  await registerCatalog(app.inventory, TZ_TENANT, { skus: ['sku-tz'], locations: ['wh-1'] });
  analytics = await createTestDatabase('analytics_store', 4);
  await migrateAnalytics(analytics.pool);
  nc = await sharedNats('analytics-spec');
  policies = createPolicySource(app.db.pool);
  await app.db.pool.query(
    `insert into tenant_policies (tenant_id, version, policy, updated_by) values ($1, 1, $2, 'test')`,
    [TZ_TENANT, JSON.stringify({ timeZone: FAR_TZ })],
  );
  await ensureEventStream(nc, ns);
  relay = await startRelay({
    pool: app.db.pool,
    nc,
    namespace: ns,
    holderId: 'analytics-spec',
    log: silentLog,
    pollMs: 50,
  });
  await startProjector();
});

afterAll(async () => {
  await projector?.stop();
  await relay?.stop();
  await cleanupNamespace(ns, { nc });
  await nc?.close();
  await analytics?.drop();
  await app?.close();
});

let n = 0;
const receive = (tenant: string, sku: string, qty: number) =>
  app.inventory.receive(caller(tenant), receiveInput(`mv-${++n}`, sku, 'wh-1', qty));

const stockEventCount = async (): Promise<number> =>
  Number(
    (
      await app.db.pool.query<{ n: string }>(
        `select count(*) as n from events where event_type like 'stockmind.stock.%'`,
      )
    ).rows[0]?.n,
  );

const factCount = async (): Promise<number> =>
  Number((await analytics.pool.query<{ n: string }>('select count(*) as n from movement_facts')).rows[0]?.n);

const caughtUp = () =>
  eventually(
    async () => {
      expect((await relay.lag()).events).toBe(0);
      expect(await consumerBacklog(nc, ns, consumerName(ns, 'analytics'))).toBe(0);
    },
    10_000,
    50,
  );

const daily = async (tenant: string, sku: string) =>
  (
    await analytics.pool.query(
      `select day::text as day, on_hand_close::int, reserved_close::int, committed_close::int, close_version, received::int,
              shipped::int, reserved::int, released::int, movements
       from daily_positions where tenant_id = $1 and sku = $2 order by day`,
      [tenant, sku],
    )
  ).rows;

/**
 * The stock envelopes of the ledger, as the relay would publish them. Reading in commit order holds back
 * events while any older transaction in the cluster is open (other specs' too): read until it has them all.
 */
const ledgerEnvelopes = async (tenant: string): Promise<Envelope[]> => {
  const { rows } = await app.db.pool.query<{ n: string }>(
    `select count(*) as n from events e join streams s using (stream_id) where s.tenant_id = $1 and s.kind = 'stock_item'`,
    [tenant],
  );
  let out: Envelope[] = [];
  await eventually(
    async () => {
      out = [];
      for (let cp = START; ;) {
        const batch = await readInCommitOrder(app.db.pool, cp, 1_000);
        if (batch.events.length === 0) break;
        out.push(
          ...batch.events.filter((e) => e.tenantId === tenant && e.stream.kind === 'stock_item').map(fromStoredEvent),
        );
        cp = batch.checkpoint;
      }
      expect(out).toHaveLength(Number(rows[0]?.n));
    },
    10_000,
    50,
  );
  return out;
};

describe('facts and daily positions', () => {
  it('records one fact per movement and the day’s flows and closing levels', async () => {
    await receive(T, 'sku-a', 20);
    accepted(await app.inventory.reserve(caller(T), reserveInput('r-1', [['sku-a', 'wh-1', 5]])));
    accepted(await app.inventory.confirm(caller(T), 'r-1', 'order-1'));
    accepted(await app.inventory.fulfil(caller(T), 'r-1', 'ship-1'));
    accepted(await app.inventory.reserve(caller(T), reserveInput('r-2', [['sku-a', 'wh-1', 3]])));
    accepted(await app.inventory.release(caller(T), 'r-2', 'abandoned cart'));
    await caughtUp();

    const facts = (
      await analytics.pool.query(
        `select event_type, quantity::int, on_hand_delta::int, reserved_delta::int, committed_delta::int, on_hand_after::int, stream_version, channel
         from movement_facts where tenant_id = $1 and sku = 'sku-a' order by stream_version`,
        [T],
      )
    ).rows;
    expect(
      facts.map((f) => [
        f.event_type.split('.')[2],
        f.quantity,
        f.on_hand_delta,
        f.reserved_delta,
        f.committed_delta,
        f.on_hand_after,
      ]),
    ).toEqual([
      ['stock_received', 20, 20, 0, 0, 20],
      ['stock_reserved', 5, 0, 5, 0, 20],
      ['reserved_stock_committed', 5, 0, -5, 5, 20],
      ['stock_shipped', 5, -5, 0, -5, 15],
      ['stock_reserved', 3, 0, 3, 0, 15],
      ['reserved_stock_released', 3, 0, -3, 0, 15],
    ]);
    expect(facts.map((f) => f.stream_version)).toEqual([1, 2, 3, 4, 5, 6]);

    const { rows } = await app.db.pool.query<{ day: string }>(
      `select (max(recorded_at) at time zone 'UTC')::date::text as day from events where tenant_id = $1 and event_type like 'stockmind.stock.%'`,
      [T],
    );
    expect(await daily(T, 'sku-a')).toEqual([
      {
        day: rows[0]?.day,
        on_hand_close: 15,
        reserved_close: 0,
        committed_close: 0,
        close_version: 6,
        received: 20,
        shipped: 5,
        reserved: 8,
        released: 3,
        movements: 6,
      },
    ]);
  });

  it('buckets days in the tenant’s time zone', async () => {
    await receive(TZ_TENANT, 'sku-tz', 4);
    await caughtUp();
    const { rows } = await app.db.pool.query<{ day: string; utc_day: string }>(
      `select (recorded_at at time zone $2)::date::text as day, (recorded_at at time zone 'UTC')::date::text as utc_day
       from events where tenant_id = $1`,
      [TZ_TENANT, FAR_TZ],
    );
    expect(rows[0]?.day).not.toBe(rows[0]?.utc_day);
    expect(await daily(TZ_TENANT, 'sku-tz')).toMatchObject([
      { day: rows[0]?.day, received: 4, movements: 1, on_hand_close: 4 },
    ]);
  });
});

describe('redelivery', () => {
  it('records a movement delivered twice once, and leaves the daily counts unchanged', async () => {
    await projector?.stop();
    projector = null;
    await receive(T, 'sku-b', 7);
    const envelope = (await ledgerEnvelopes(T)).find((e) => e.stream.sku === 'sku-b');
    if (envelope === undefined) throw new Error('no sku-b event');

    const before = await factCount();
    expect(await recordMovement(analytics.pool, envelope, 'UTC')).toBe(true);
    const afterFirst = await daily(T, 'sku-b');
    expect(afterFirst).toMatchObject([{ received: 7, movements: 1 }]);
    expect(await recordMovement(analytics.pool, envelope, 'UTC')).toBe(false);
    expect(await factCount()).toBe(before + 1);
    expect(await daily(T, 'sku-b')).toEqual(afterFirst);

    // The projector now receives the same event from JetStream: still one fact, same counts.
    await startProjector();
    await caughtUp();
    expect(await factCount()).toBe(before + 1);
    expect(await daily(T, 'sku-b')).toEqual(afterFirst);
  });
});

describe('replay', () => {
  it('rebuilds the same facts and daily positions from the ledger', async () => {
    accepted(
      await app.inventory.reserve(
        caller(T),
        reserveInput('r-3', [
          ['sku-a', 'wh-1', 2],
          ['sku-b', 'wh-1', 2],
        ]),
      ),
    );
    await caughtUp();
    await projector?.stop();
    projector = null;
    const snapshot = async () => ({
      facts: (await analytics.pool.query('select * from movement_facts order by event_id')).rows,
      daily: (await analytics.pool.query('select * from daily_positions order by tenant_id, location_id, sku, day'))
        .rows,
    });
    const before = await snapshot();
    expect(before.facts).toHaveLength(await stockEventCount());

    const { events } = await replayAnalytics({ pool: app.db.pool, analytics: analytics.pool, policies });
    expect(events).toBe(before.facts.length);
    expect(await snapshot()).toEqual(before);
  });
});
