// Postgres down (a private cluster, stopped and started by this spec) under a
// real `stockmind start` process: availability reads continue from Redis
// marked stale, writes fail fast with UNAVAILABLE, the process stays ready (it
// serves reads), and everything resumes once the ledger is back.
import { rejection } from '../support/app.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/tokens.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import { probesUrl } from '../support/metrics.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { availabilityKey } from '../../contracts/names.js';
import { createGrpcClient, errorDetails, grpc } from '../../loadtest/runner/grpcClient.js';
import { freePort, startCoreProcess } from '../../loadtest/bench/processes.js';
import { eventually } from '../support/wait.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { cleanupNamespace, sharedNats, sharedRedis, testNamespace } from '../support/readside.js';
import { startPrivatePostgres } from '../support/servers.js';
import type { ServiceError } from '@grpc/grpc-js';
import type { Redis } from 'ioredis';
import type { CoreHandle } from '../../loadtest/bench/processes.js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { PrivatePostgres } from '../support/servers.js';

const T = 'pg-down';
const m = InventoryService.method;
const ns = testNamespace('pgdown');
const key = { sku: 'SKU-P', locationId: 'W1' };
/** `start` also runs the REST edge and the webhook gateway: free ports, not the defaults another stack may hold. */
const freeEdgePorts = async () => ({ EDGE_PORT: String(await freePort()), WEBHOOK_PORT: String(await freePort()) });

let pgc: PrivatePostgres;
let core: CoreHandle;
let client: GrpcClient;
let redis: Redis;

const failure = (call: Promise<unknown>) => rejection(call) as Promise<ServiceError>;

const query = async (consistency: Consistency) => {
  const { levels } = await client.unary(m.queryStock, { keys: [key], consistency }, { deadlineMs: 3_000 });
  const l = levels[0];
  return { onHand: l?.onHand, reserved: l?.reserved, version: l?.version, stale: l?.stale };
};

const reserve = (reservationId: string, quantity: bigint, deadlineMs = 5_000) =>
  client.unary(
    m.reserveStock,
    { reservationId, channel: Channel.ECOMMERCE, lines: [{ ...key, quantity }] },
    { deadlineMs },
  );

const projectedVersion = async () =>
  Number(await redis.hget(availabilityKey(ns, T, key.locationId, key.sku), 'version'));

beforeAll(async () => {
  pgc = await startPrivatePostgres();
  redis = sharedRedis('pg-down-spec');
  core = await startCoreProcess(
    {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgc.port}/stockmind_faults`,
      STOCKMIND_NAMESPACE: ns,
      STOCKMIND_PG_POOL_MAX: '4',
      ...(await freeEdgePorts()),
    },
    30_000,
    'start',
  );
  const token = await tokenFor(T, { sub: 'pg-down' });
  client = createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token });
  await registerCatalogRpc(client, { skus: [key.sku], locations: [key.locationId] });
});

afterAll(async () => {
  client?.close();
  await core?.stop();
  await pgc?.destroy();
  const nc = await sharedNats('pg-down-cleanup');
  await cleanupNamespace(ns, { nc, redis });
  await nc.close();
  redis?.disconnect();
});

describe('Postgres down', () => {
  it('answers QueryStock STRONG and EVENTUAL from Redis marked stale, fails writes fast with UNAVAILABLE, and stays ready', async () => {
    await client.unary(m.receiveStock, { movementId: 'pg-recv-1', ...key, quantity: 10n });
    await reserve('pg-res-1', 3n);
    await eventually(async () => expect(await projectedVersion()).toBe(2), 10_000);

    await pgc.stop();

    expect(await query(Consistency.STRONG)).toEqual({ onHand: 10n, reserved: 3n, version: 2n, stale: true });
    await eventually(
      async () =>
        expect(await query(Consistency.EVENTUAL)).toEqual({ onHand: 10n, reserved: 3n, version: 2n, stale: true }),
      3_000,
    );

    const t0 = performance.now();
    const err = await failure(reserve('pg-res-2', 1n));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(errorDetails(err).errorInfo?.reason).toBe('LEDGER_UNAVAILABLE');
    expect(performance.now() - t0).toBeLessThan(5_000);
    const receiveErr = await failure(
      client.unary(m.receiveStock, { movementId: 'pg-recv-2', ...key, quantity: 1n }, { deadlineMs: 5_000 }),
    );
    expect(receiveErr.code).toBe(grpc.status.UNAVAILABLE);
    expect(receiveErr.message).not.toMatch(/select|insert|ECONNREFUSED|127\.0\.0\.1/i);

    // It can still serve reads, so it stays ready: a load balancer keeps sending them.
    const health = createGrpcClient(Health, `127.0.0.1:${core.port}`);
    try {
      const { status } = await health.unary(Health.method.check, { service: '' }, { deadlineMs: 3_000 });
      expect(status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      health.close();
    }
    const ready = await fetch(`${probesUrl(core.output())}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { parts: Record<string, boolean> }).parts).toMatchObject({
      core: true,
      edge: true,
      relay: false,
    });

    // Still one running process: the read side survived the outage too.
    expect(core.child.exitCode).toBeNull();
  });

  it('takes writes again once the ledger is back, and the read side catches up', async () => {
    await pgc.start();
    await eventually(
      async () => {
        await reserve('pg-res-3', 2n);
      },
      10_000,
      250,
    );
    expect(await query(Consistency.STRONG)).toEqual({ onHand: 10n, reserved: 5n, version: 3n, stale: false });
    await eventually(async () => expect(await projectedVersion()).toBe(3), 10_000);
    expect(await query(Consistency.EVENTUAL)).toEqual({ onHand: 10n, reserved: 5n, version: 3n, stale: false });
    expect(core.child.exitCode).toBeNull();
  });
});
