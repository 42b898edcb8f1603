// Projectors killed mid-stream: both projector processes (`stockmind project
// availability|analytics`) get SIGKILL while a burst is flowing, more events
// arrive while they are dead, and after a restart from their durable consumers
// nothing is lost and nothing is counted twice.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../platform/postgres/pool.js';
import { analyticsUrlFor } from '../../platform/config.js';
import { startRelay } from '../../projectors/relay/relay.js';
import { verifyAvailability } from '../../projectors/rebuild/rebuild.js';
import { ensureEventStream } from '../../platform/nats.js';
import { consumerName } from '../../contracts/names.js';
import { accepted, caller, receiveInput, reserveInput, startApp } from '../support/app.js';
import { eventually } from '../support/wait.js';
import { registerCatalog } from '../support/catalog.js';
import {
  SHARED_NATS_URL,
  SHARED_REDIS_URL,
  cleanupNamespace,
  consumerBacklog,
  sharedNats,
  sharedRedis,
  silentLog,
  testNamespace,
} from '../support/readside.js';
import { startCliProcess } from '../support/cli.js';
import type { Redis } from 'ioredis';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AppHarness } from '../support/app.js';
import type { CliProcess } from '../support/cli.js';
import type { Relay } from '../../projectors/relay/relay.js';
import type { Levels } from '../../core/src/domain/stock/levels.js';

const T = 'killed';
const ns = testNamespace('killed');
const SKUS = Array.from({ length: 30 }, (_, i) => `sku-${i}`);

let app: AppHarness;
let nc: NatsConnection;
let redis: Redis;
let relay: Relay | null = null;
let analytics: pg.Pool | null = null;
let projectors: CliProcess[] = [];

const startProjectors = async () => {
  const env = {
    DATABASE_URL: app.db.url,
    NATS_URL: SHARED_NATS_URL,
    REDIS_URL: SHARED_REDIS_URL,
    STOCKMIND_NAMESPACE: ns,
  };
  projectors = await Promise.all([
    startCliProcess(['project', 'availability'], env, /availability projector started/),
    startCliProcess(['project', 'analytics'], env, /analytics projector started/),
  ]);
};

/** Runs `n` commands, `concurrency` at a time. */
const run = async (n: number, concurrency: number, command: (i: number) => Promise<unknown>) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await command(next++);
    }),
  );
};

let reservations = 0;
/** Reservations of three lines each on rotating SKUs: three stock events per command. */
const reserveMany = (n: number) =>
  run(n, 4, async () => {
    const i = reservations++;
    const lines = [0, 1, 2].map((k): [string, string, number] => [
      SKUS[(i + k * 7) % SKUS.length] as string,
      'wh-1',
      1,
    ]);
    accepted(await app.inventory.reserve(caller(T), reserveInput(`res-${i}`, lines)));
  });

const stockEvents = async () =>
  Number(
    (
      await app.db.pool.query<{ n: string }>(
        `select count(*) as n from events where event_type like 'stockmind.stock.%'`,
      )
    ).rows[0]?.n,
  );
const facts = async () =>
  Number((await analytics?.query<{ n: string }>('select count(*) as n from movement_facts'))?.rows[0]?.n);

beforeAll(async () => {
  app = await startApp('fault_projector', { poolMax: 8 });
  await registerCatalog(app.inventory, T, { skus: SKUS, locations: ['wh-1'] });
  nc = await sharedNats('killed-spec');
  redis = sharedRedis('killed-spec');
  await ensureEventStream(nc, ns);
});

afterAll(async () => {
  for (const p of projectors) await p.stop('SIGKILL');
  await relay?.stop();
  await analytics?.end();
  await cleanupNamespace(ns, { nc, redis });
  await nc?.close();
  redis?.disconnect();
  if (app !== undefined) await dropDatabase(analyticsUrlFor(app.db.url));
  await app?.close();
});

describe('projectors killed mid-stream', () => {
  it('resume from their durable consumers with no loss and no double count', async () => {
    // A backlog waits in the ledger, so the relay sends a burst once it starts.
    await run(SKUS.length, 4, async (i) =>
      app.inventory.receive(caller(T), receiveInput(`mv-${i}`, SKUS[i] as string, 'wh-1', 50)),
    );
    await reserveMany(70);
    await startProjectors();
    analytics = new pg.Pool({ connectionString: `${app.db.url}_analytics`, max: 2 });
    relay = await startRelay({
      pool: app.db.pool,
      nc,
      namespace: ns,
      holderId: 'killed-spec',
      log: silentLog,
      pollMs: 50,
    });

    const total = await stockEvents();
    let atKill = 0;
    await eventually(
      async () => {
        atKill = await facts();
        expect(atKill).toBeGreaterThanOrEqual(15);
      },
      15_000,
      5,
    );
    await Promise.all(projectors.map((p) => p.stop('SIGKILL')));
    // Killed while the stream was flowing, not after it had drained.
    expect(atKill).toBeLessThan(total);

    // More movements while both are dead.
    await reserveMany(20);
    await run(5, 1, async (i) =>
      app.inventory.receive(caller(T), receiveInput(`mv-late-${i}`, SKUS[i] as string, 'wh-1', 3)),
    );
    await eventually(async () => expect((await relay?.lag())?.events).toBe(0), 10_000);
    const frozen = await facts();
    expect(frozen).toBeLessThan(await stockEvents());

    await startProjectors();
    const all = await stockEvents();
    // Messages delivered to the killed processes but never acknowledged come back after the
    // consumer's ack_wait (30 s); everything else flows at once.
    await eventually(
      async () => {
        expect(await facts()).toBe(all);
        expect(await consumerBacklog(nc, ns, consumerName(ns, 'availability'))).toBe(0);
        expect(await consumerBacklog(nc, ns, consumerName(ns, 'analytics'))).toBe(0);
      },
      50_000,
      200,
    );

    // No double count: the daily sums are exactly the ledger's.
    const sums = (
      await analytics.query<{ movements: string; received: string; reserved: string }>(
        'select sum(movements)::text as movements, sum(received)::text as received, sum(reserved)::text as reserved from daily_positions',
      )
    ).rows[0];
    expect(sums).toEqual({
      movements: String(all),
      received: String(SKUS.length * 50 + 5 * 3),
      reserved: String(reservations * 3),
    });

    // Closing levels per item equal the ledger's snapshot.
    const ledger = (
      await app.db.pool.query<{ sku: string; version: number; state: { levels: Levels } }>(
        `select sku, version, state from streams where kind = 'stock_item' order by sku`,
      )
    ).rows;
    const closes = (
      await analytics.query<{ sku: string; close_version: number; on_hand_close: string; reserved_close: string }>(
        `select distinct on (sku) sku, close_version, on_hand_close::text, reserved_close::text from daily_positions order by sku, day desc`,
      )
    ).rows;
    expect(closes).toEqual(
      ledger.map((r) => ({
        sku: r.sku,
        close_version: r.version,
        on_hand_close: String(r.state.levels.onHand),
        reserved_close: String(r.state.levels.reserved),
      })),
    );

    // Redis equals the ledger for every item, and nothing was dead-lettered.
    expect((await verifyAvailability({ pool: app.db.pool, redis, namespace: ns, settleMs: 500 })).drift).toEqual([]);
    expect(Number((await app.db.pool.query<{ n: string }>('select count(*) as n from dead_letters')).rows[0]?.n)).toBe(
      0,
    );
  }, 90_000);
});
