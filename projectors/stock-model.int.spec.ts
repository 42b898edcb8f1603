// The read models follow every movement of the stock model: after sales,
// counts, write-offs, sensor deltas, inbound, transfers, returns and quality
// checks go through the relay, Redis holds exactly the ledger's levels (verify
// finds no drift) and analytics has one fact per movement with the day's flows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnalyticsProjector } from './analytics/projector.js';
import { migrateAnalytics } from './analytics/schema.js';
import { startAvailabilityProjector } from './availability/projector.js';
import { startRelay } from './relay/relay.js';
import { verifyAvailability } from './rebuild/rebuild.js';
import { createPolicySource } from '../core/src/store/policies.js';
import { ensureEventStream } from '../platform/nats.js';
import { consumerName } from '../contracts/names.js';
import { accepted, caller, receiveInput, reserveInput, startApp } from '../test/support/app.js';
import { eventually } from '../test/support/wait.js';
import { registerCatalog } from '../test/support/catalog.js';
import { createTestDatabase } from '../test/support/db.js';
import {
  cleanupNamespace,
  consumerBacklog,
  sharedNats,
  sharedRedis,
  silentLog,
  testNamespace,
} from '../test/support/readside.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Redis } from 'ioredis';
import type { AppHarness } from '../test/support/app.js';
import type { TestDatabase } from '../test/support/db.js';
import type { Relay } from './relay/relay.js';
import type { ConsumerLoop } from './shared/consumer.js';

const T = 'model-rs';
const ns = testNamespace('model-rs');
const DAY = 24 * 3600 * 1000;

let app: AppHarness;
let analytics: TestDatabase;
let nc: NatsConnection;
let redis: Redis;
let relay: Relay;
const loops: ConsumerLoop[] = [];

beforeAll(async () => {
  app = await startApp('model_rs');
  analytics = await createTestDatabase('model_rs_analytics', 4);
  await migrateAnalytics(analytics.pool);
  nc = await sharedNats('model-rs-spec');
  redis = sharedRedis('model-rs-spec');
  await registerCatalog(app.inventory, T, {
    skus: ['sku-m', 'sku-n'],
    locations: ['wh-1', 'store-1'],
    units: [{ name: 'box', baseUnits: 6 }],
  });
  await ensureEventStream(nc, ns);
  relay = await startRelay({
    pool: app.db.pool,
    nc,
    namespace: ns,
    holderId: 'model-rs-spec',
    log: silentLog,
    pollMs: 50,
  });
  loops.push(await startAvailabilityProjector({ nc, redis, pool: app.db.pool, namespace: ns, log: silentLog }));
  loops.push(
    await startAnalyticsProjector({
      nc,
      analytics: analytics.pool,
      pool: app.db.pool,
      policies: createPolicySource(app.db.pool),
      namespace: ns,
      log: silentLog,
    }),
  );
});

afterAll(async () => {
  for (const l of loops) await l.stop();
  await relay?.stop();
  await cleanupNamespace(ns, { nc, redis });
  await nc?.close();
  redis?.disconnect();
  await analytics?.drop();
  await app?.close();
});

const ok = <T>(o: { ok: true; value: T } | { ok: false; refusal: unknown }): T => {
  if (!o.ok) throw new Error(`refused: ${JSON.stringify(o.refusal)}`);
  return o.value;
};

describe('read models under every movement', () => {
  it('keep Redis equal to the ledger and count every movement in analytics', async () => {
    const who = caller(T);
    const inv = app.inventory;
    const at = { unit: '', reason: '', channel: null, occurredAt: null };
    await inv.receive(who, receiveInput('rs-rcv-1', 'sku-m', 'wh-1', 40));
    await inv.receive(who, { ...receiveInput('rs-rcv-2', 'sku-n', 'store-1', 2), unit: 'box' });
    ok(
      await inv.sale(who, {
        movementId: 'rs-sale',
        sku: 'sku-n',
        locationId: 'store-1',
        quantity: 3,
        unit: '',
        channel: 'POS',
        reference: 't-1',
        occurredAt: null,
      }),
    );
    ok(
      await inv.adjust(who, {
        ...at,
        movementId: 'rs-count',
        sku: 'sku-n',
        locationId: 'store-1',
        kind: 'CYCLE_COUNT',
        quantity: 8,
        delta: 0,
      }),
    );
    ok(
      await inv.adjust(who, {
        ...at,
        movementId: 'rs-dmg',
        sku: 'sku-n',
        locationId: 'store-1',
        kind: 'DAMAGE',
        quantity: 1,
        delta: 0,
      }),
    );
    ok(
      await inv.adjust(who, {
        ...at,
        movementId: 'rs-sns',
        sku: 'sku-n',
        locationId: 'store-1',
        kind: 'SENSOR',
        quantity: 0,
        delta: 2,
      }),
    );
    await inv.expect(who, {
      movementId: 'rs-asn',
      sku: 'sku-m',
      locationId: 'wh-1',
      quantity: 10,
      unit: '',
      reference: 'po',
      expectedAt: null,
    });
    await inv.receive(who, { ...receiveInput('rs-rcv-3', 'sku-m', 'wh-1', 4), expectedMovementId: 'rs-asn' });
    ok(
      await inv.dispatch(who, {
        transferId: 'rs-tr',
        sku: 'sku-m',
        fromLocationId: 'wh-1',
        toLocationId: 'store-1',
        quantity: 5,
        unit: '',
        reference: '',
        reason: '',
      }),
    );
    ok(
      await inv.receiveTransfer(who, {
        movementId: 'rs-tr-in',
        transferId: 'rs-tr',
        quantity: 4,
        unit: '',
        reason: 'short',
      }),
    );
    ok(
      await inv.recordReturn(who, {
        movementId: 'rs-ret',
        sku: 'sku-m',
        locationId: 'store-1',
        quantity: 2,
        unit: '',
        channel: 'ECOMMERCE',
        soldAt: new Date(Date.now() - DAY),
        reference: '',
        reason: '',
      }),
    );
    ok(
      await inv.qualityCheck(who, {
        movementId: 'rs-qc-ok',
        sku: 'sku-m',
        locationId: 'store-1',
        quantity: 1,
        unit: '',
        passed: true,
        reason: '',
      }),
    );
    ok(
      await inv.qualityCheck(who, {
        movementId: 'rs-qc-ko',
        sku: 'sku-m',
        locationId: 'store-1',
        quantity: 1,
        unit: '',
        passed: false,
        reason: 'torn',
      }),
    );
    accepted(await inv.reserve(who, reserveInput('rs-res', [['sku-m', 'store-1', 2]])));

    const { rows } = await app.db.pool.query<{ n: string }>(
      `select count(*) as n from events where tenant_id = $1 and event_type like 'stockmind.stock.%'`,
      [T],
    );
    const stockEvents = Number(rows[0]?.n);
    expect(stockEvents).toBe(15); // 14 movements; the transfer is two events (out at the source, in transit at the destination)
    await eventually(
      async () => {
        expect((await relay.lag()).events).toBe(0);
        expect(await consumerBacklog(nc, ns, consumerName(ns, 'availability'))).toBe(0);
        expect(await consumerBacklog(nc, ns, consumerName(ns, 'analytics'))).toBe(0);
      },
      30_000,
      50,
    );

    const verified = await verifyAvailability({ pool: app.db.pool, redis, namespace: ns, tenantId: T, settleMs: 200 });
    expect(verified.drift).toEqual([]);
    expect(verified.checked).toBe(3);

    const facts = await analytics.pool.query<{ n: string }>(
      'select count(*) as n from movement_facts where tenant_id = $1',
      [T],
    );
    expect(Number(facts.rows[0]?.n)).toBe(stockEvents);
    const flows = await analytics.pool.query(
      `select location_id, sku, received::int, sold::int, written_off::int, returned::int, transferred_in::int, transferred_out::int, on_hand_close::int, quarantined_close::int
       from daily_positions where tenant_id = $1 order by location_id, sku`,
      [T],
    );
    expect(flows.rows).toEqual([
      // store-1 sku-m: 4 of 5 arrived, 2 returned (quarantined), 1 passed back to on hand, 1 failed.
      {
        location_id: 'store-1',
        sku: 'sku-m',
        received: 0,
        sold: 0,
        written_off: 1,
        returned: 2,
        transferred_in: 4,
        transferred_out: 0,
        on_hand_close: 5,
        quarantined_close: 0,
      },
      // 12 received (2 boxes of 6), 3 sold, a count of 8 found 1 missing, 1 damaged, the sensor found 2 more.
      {
        location_id: 'store-1',
        sku: 'sku-n',
        received: 14,
        sold: 3,
        written_off: 2,
        returned: 0,
        transferred_in: 0,
        transferred_out: 0,
        on_hand_close: 9,
        quarantined_close: 0,
      },
      {
        location_id: 'wh-1',
        sku: 'sku-m',
        received: 44,
        sold: 0,
        written_off: 0,
        returned: 0,
        transferred_in: 0,
        transferred_out: 5,
        on_hand_close: 39,
        quarantined_close: 0,
      },
    ]);
  });
});
