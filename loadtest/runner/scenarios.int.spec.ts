// CI smoke of every ghz scenario with our runner against a real `stockmind
// start` on a small seed: the configs, the templates, the runner and the seed
// keep working together. No timing assertions (figures live in docs/benchmarks.md).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../../test/support/tokens.js';
import { dropDatabase } from '../../platform/postgres/pool.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { loadConfig } from '../../platform/config.js';
import { redisReady } from '../../platform/redis.js';
import { cleanupNamespace, sharedNats, sharedRedis } from '../../test/support/readside.js';
import { createGrpcClient } from './grpcClient.js';
import { freePort, startCoreProcess } from '../bench/processes.js';
import { runSeed } from '../seed/main.js';
import { storeQuantity, warehouseQuantity } from '../seed/layout.js';
import { runLoadtest } from './main.js';
import type { CoreHandle } from '../bench/processes.js';
import type { GhzResult } from './report.js';

const id = randomBytes(3).toString('hex');
const SERVER = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `sm_test_loadtest_${id}`;
const dbUrl = (name: string) => Object.assign(new URL(SERVER), { pathname: `/${name}` }).toString();
const namespace = `t-loadtest-${id}`;
const tenant = `lt${id}-1`;
const HOT_STOCK = 30;
const env = {
  DATABASE_URL: dbUrl(dbName),
  ANALYTICS_DATABASE_URL: dbUrl(`${dbName}_analytics`),
  STOCKMIND_NAMESPACE: namespace,
};

let core: CoreHandle;
let dir: string;
const saved: Record<string, string | undefined> = {};

const run = async (config: string, ...args: string[]) => {
  const output = path.join(dir, `${config}-${args.length}.json`);
  const outcome = await runLoadtest(
    [
      `loadtest/ghz/${config}.json`,
      '--host',
      `127.0.0.1:${core.port}`,
      '--tenant',
      tenant,
      '-q',
      '-o',
      output,
      ...args,
    ],
    () => undefined,
  );
  const written = JSON.parse(await readFile(output, 'utf8')) as GhzResult;
  return { ...outcome, written };
};

beforeAll(async () => {
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  dir = await mkdtemp(path.join(os.tmpdir(), 'stockmind-loadtest-'));
  await runSeed(
    [
      '--tenants',
      '1',
      '--locations',
      '5',
      '--skus',
      '3000',
      '--store-skus',
      '500',
      '--hot-stock',
      String(HOT_STOCK),
      '--analytics',
      'no',
      '--tenant-prefix',
      `lt${id}`,
    ],
    () => undefined,
  );
  core = await startCoreProcess(
    { ...env, EDGE_PORT: String(await freePort()), WEBHOOK_PORT: String(await freePort()) },
    30_000,
    'start',
  );
}, 90_000);

afterAll(async () => {
  await core?.stop();
  const nc = await sharedNats('loadtest-cleanup');
  const redis = sharedRedis('loadtest-cleanup');
  // cleanupNamespace skips a client that is still connecting.
  await redisReady(redis, 5_000);
  await cleanupNamespace(namespace, { nc, redis });
  await nc.close();
  redis.disconnect();
  await dropDatabase(env.DATABASE_URL);
  await dropDatabase(env.ANALYTICS_DATABASE_URL);
  await rm(dir, { recursive: true, force: true });
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}, 60_000);

describe('the seeded dataset, read and written through the core', () => {
  it('has the planned levels in the ledger and the same in Redis, and products sold by the box', async () => {
    const token = await tokenFor(tenant, { sub: 't' }, { ttlSeconds: 60, secret: loadConfig().jwtSecret });
    const client = createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token });
    try {
      const keys = [
        { sku: 'SKU-7', locationId: 'W3' },
        { sku: 'SKU-100', locationId: 'W1' },
        { sku: 'SKU-7', locationId: 'S001' },
      ];
      const strong = await client.unary(InventoryService.method.queryStock, { keys, consistency: Consistency.STRONG });
      const eventual = await client.unary(InventoryService.method.queryStock, {
        keys,
        consistency: Consistency.EVENTUAL,
      });
      // SKU-100 at W1 carries a completed web sale: one unit fewer, four events.
      expect(strong.levels.map((l) => [l.onHand, l.reserved, l.version])).toEqual([
        [BigInt(warehouseQuantity(7, 3)), 0n, 1n],
        [BigInt(warehouseQuantity(100, 1) - 1), 0n, 4n],
        [BigInt(storeQuantity(7, 1)), 0n, 1n],
      ]);
      expect(eventual.levels.map((l) => [l.onHand, l.reserved, l.version])).toEqual(
        strong.levels.map((l) => [l.onHand, l.reserved, l.version]),
      );
      const res = await client.unary(InventoryService.method.reserveStock, {
        reservationId: `box-${id}`,
        channel: Channel.B2B,
        lines: [{ sku: 'SKU-7', locationId: 'W3', quantity: 1n, unit: 'box' }],
      });
      expect(res.reservation?.lines[0]?.baseQuantity).toBe(12n);
    } finally {
      client.close();
    }
  });
});

describe('ghz scenarios through our runner', () => {
  it('query-stock: every call answers, and the JSON file has the ghz shape', async () => {
    const { result, written } = await run('query-stock', '--total', '60', '-c', '4', '--connections', '2');
    expect(result.statusCodeDistribution).toEqual({ OK: 60 });
    expect(written.count).toBe(60);
    expect(written.latencyDistribution?.map((d) => d.percentage)).toEqual([10, 25, 50, 75, 90, 95, 99]);
    expect(Number.isInteger(written.average) && written.slowest >= written.fastest && written.fastest > 0).toBe(true);
  });

  it('reserve-distinct: each call holds one unit of its own seeded SKU', async () => {
    const { result } = await run('reserve-distinct', '--total', '60', '-c', '4', '--connections', '2');
    expect(result.statusCodeDistribution).toEqual({ OK: 60 });
  });

  it('measures the pgbench baseline in the same run when asked', async () => {
    const { result } = await run('reserve-distinct', '--duration', '1s', '-c', '2', '--connections', '1', '--pgbench');
    expect(result.baseline?.pgbenchTps).toBeGreaterThan(0);
    expect(result.baseline?.ratio).toBeCloseTo(
      (result.statusCodeDistribution.OK ?? 0) / (result.total / 1e9) / (result.baseline?.pgbenchTps ?? 1),
      6,
    );
  });

  it('reserve-hot: exactly the seeded units are held, the rest refused, never oversold', async () => {
    const { result } = await run('reserve-hot', '--total', String(HOT_STOCK + 10), '-c', '8', '--connections', '2');
    expect(result.statusCodeDistribution).toEqual({ OK: HOT_STOCK, FailedPrecondition: 10 });
    const token = await tokenFor(tenant, { sub: 't' }, { ttlSeconds: 60, secret: loadConfig().jwtSecret });
    const client = createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token });
    const res = await client.unary(InventoryService.method.queryStock, {
      keys: [{ sku: 'HOT-1', locationId: 'W1' }],
      consistency: Consistency.STRONG,
    });
    client.close();
    expect(res.levels[0]).toMatchObject({ onHand: BigInt(HOT_STOCK), reserved: BigInt(HOT_STOCK), available: 0n });
  });

  it('mixed-channels: open loop over four channels, every commit seen in Redis', async () => {
    const { result } = await run(
      'mixed-channels',
      '--duration',
      '2s',
      '--rps',
      '40',
      '-c',
      '4',
      '--connections',
      '2',
      '--lag',
    );
    expect(result.statusCodeDistribution).toEqual({ OK: result.count });
    expect(result.count).toBeGreaterThan(0);
    expect(result.commitToRedisLag?.pendingSample).toEqual([]);
    // The web-shop message has two lines: each line's key is tracked.
    expect(result.commitToRedisLag?.measured).toBeGreaterThan(result.count);
  });

  it('reports a missed budget, and none when it holds', async () => {
    expect((await run('query-stock', '--total', '20', '-c', '2', '--p99', '1us')).missed).toEqual([
      expect.stringMatching(/^p99 .* over the budget of 0\.00 ms$/),
    ]);
    expect(
      (await run('query-stock', '--total', '20', '-c', '2', '--p95', '10s', '--max-error-rate', '0')).missed,
    ).toEqual([]);
  });
});
