// Redis down (a private redis-server, killed and restarted by this spec) under
// a real `stockmind start` process: QueryStock EVENTUAL keeps answering from
// the ledger, not stale, within about a second; writes go on; once Redis is
// back the availability projector catches up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/tokens.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { availabilityKey } from '../../contracts/names.js';
import { createRedis } from '../../platform/redis.js';
import { createGrpcClient } from '../../loadtest/runner/grpcClient.js';
import { startStack } from '../support/edge.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { eventually } from '../support/wait.js';
import { startPrivateRedis } from '../support/servers.js';
import type { Redis } from 'ioredis';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { Stack } from '../support/edge.js';
import type { ServerProcess } from '../support/servers.js';

const T = 'redis-down';
const m = InventoryService.method;
const key = { sku: 'SKU-R', locationId: 'W1' };

let stack: Stack;
let redisServer: ServerProcess;
let redis: Redis;
let client: GrpcClient;

/** EVENTUAL, with a 1.5 s deadline: an answer that takes longer fails the test. */
const eventual = async () => {
  const { levels } = await client.unary(
    m.queryStock,
    { keys: [key], consistency: Consistency.EVENTUAL },
    { deadlineMs: 1_500 },
  );
  const l = levels[0];
  return {
    onHand: l?.onHand,
    reserved: l?.reserved,
    version: l?.version,
    stale: l?.stale,
    asOf: l?.asOf === undefined ? null : timestampDate(l.asOf).toISOString(),
  };
};

const lastRecordedAt = async (): Promise<string | undefined> =>
  (
    await stack.db.pool.query<{ recorded_at: Date }>(
      `select e.recorded_at from events e join streams s using (stream_id) where s.kind = 'stock_item' and s.sku = $1 order by e.version desc limit 1`,
      [key.sku],
    )
  ).rows[0]?.recorded_at.toISOString();

const projected = async () =>
  redis.hget(availabilityKey(stack.namespace, T, key.locationId, key.sku), 'version').catch(() => null);

beforeAll(async () => {
  redisServer = await startPrivateRedis();
  redis = createRedis(redisServer.url, { commandTimeoutMs: 1_000, name: 'redis-down-spec' });
  stack = await startStack('fault_redis', { REDIS_URL: redisServer.url });
  const token = await tokenFor(T, { sub: 'redis-down' });
  client = createGrpcClient(InventoryService, `127.0.0.1:${stack.core.port}`, { token });
  await registerCatalogRpc(client, { skus: [key.sku], locations: [key.locationId] });
});

afterAll(async () => {
  client?.close();
  await stack?.stop();
  redis?.disconnect();
  await redisServer?.destroy();
});

describe('Redis down', () => {
  it('answers QueryStock EVENTUAL from the ledger, not stale, while Redis is down; writes continue', async () => {
    await client.unary(m.receiveStock, { movementId: 'rd-recv-1', ...key, quantity: 10n });
    await eventually(async () => expect(await projected()).toBe('1'), 10_000);
    // Served by the projection: as of the event.
    expect(await eventual()).toEqual({
      onHand: 10n,
      reserved: 0n,
      version: 1n,
      stale: false,
      asOf: await lastRecordedAt(),
    });

    await redisServer.stop('SIGKILL');

    for (let i = 0; i < 5; i++)
      expect(await eventual()).toMatchObject({ onHand: 10n, reserved: 0n, version: 1n, stale: false });
    await client.unary(m.reserveStock, {
      reservationId: 'rd-res-1',
      channel: Channel.ECOMMERCE,
      lines: [{ ...key, quantity: 3n }],
    });
    const afterWrite = await eventual();
    expect(afterWrite).toMatchObject({ onHand: 10n, reserved: 3n, version: 2n, stale: false });
    // Answered by the ledger: as of the read, not as of the event.
    expect(afterWrite.asOf).not.toBe(await lastRecordedAt());
  });

  it('catches up once Redis is back, and EVENTUAL is served from Redis again', async () => {
    await redisServer.start();
    await eventually(async () => expect(await projected()).toBe('2'), 15_000, 100);
    const recordedAt = await lastRecordedAt();
    await eventually(
      async () =>
        expect(await eventual()).toEqual({ onHand: 10n, reserved: 3n, version: 2n, stale: false, asOf: recordedAt }),
      5_000,
    );
    // Nothing was given up on while Redis was away.
    const { rows } = await stack.db.pool.query<{ n: string }>('select count(*) as n from dead_letters');
    expect(Number(rows[0]?.n)).toBe(0);
  });
});
