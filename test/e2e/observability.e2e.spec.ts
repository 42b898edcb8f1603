// Metrics and probes as an operator scrapes them: after some load, `stockmind start` exposes its one
// registry on STOCKMIND_METRICS_PORT, the edge and the webhook port, with values that follow what was
// done; each process run alone serves its own; every process is ready while it works and drains on
// SIGTERM (exit 0, not the STOCKMIND_DRAIN_MS cut-off).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { createGrpcClient } from '../../loadtest/runner/grpcClient.js';
import { freePort } from '../../loadtest/bench/processes.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { startCliProcess } from '../support/cli.js';
import { createTestDatabase } from '../support/db.js';
import { openSse, startStack, stockUp } from '../support/edge.js';
import { metricSum, probesUrl, scrape } from '../support/metrics.js';
import { cleanupNamespace, sharedNats, sharedRedis, testNamespace } from '../support/readside.js';
import { redisReady } from '../../platform/redis.js';
import { tokenFor } from '../support/tokens.js';
import { eventually } from '../support/wait.js';
import type { Sample } from '../support/metrics.js';
import type { Stack } from '../support/edge.js';

const T = 'metrics-tenant';
const INVENTORY = InventoryService.typeName;

const post = (url: string, token: string, body: unknown, key: string) =>
  fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });

describe('stockmind start: one registry on every endpoint', () => {
  let stack: Stack;
  let grpcPort: number;
  let token: string;
  const urls = { probes: '', webhooks: '' };

  beforeAll(async () => {
    grpcPort = await freePort();
    stack = await startStack('metrics', { CORE_GRPC_PORT: String(grpcPort) });
    token = await tokenFor(T);
    urls.probes = probesUrl(stack.core.output());
    urls.webhooks = /marketplace webhooks on (http:\/\/[\d.]+:\d+)/.exec(stack.core.output())?.[1] ?? '';
  }, 90_000);

  afterAll(async () => {
    expect(await stack?.stop()).toBe(0);
  }, 60_000);

  it('counts calls, reservations, batches, reads, streams and lags after some load', async () => {
    await stockUp(stack.grpc, token, 'SKU-M', 'W1', 5, 'metrics-recv-1');
    const reservations = `${stack.edgeUrl}/v1/reservations`;
    const line = (quantity: number) => ({ channel: 'ECOMMERCE', lines: [{ sku: 'SKU-M', location: 'W1', quantity }] });
    expect((await post(reservations, token, line(3), 'metrics-r1')).status).toBe(201);
    expect((await post(reservations, token, line(5), 'metrics-r2')).status).toBe(409);
    // The Redis view has the item once the projector applied the reservation.
    await eventually(async () => {
      const res = await fetch(`${stack.edgeUrl}/v1/availability/SKU-M?location=W1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(((await res.json()) as { available: number }).available).toBe(2);
    }, 10_000);
    const grpcJs = createGrpcClient(InventoryService, `127.0.0.1:${grpcPort}`, { token });
    const sse = await openSse(`${stack.edgeUrl}/v1/availability/stream?location=W1&sku=SKU-M`, {
      authorization: `Bearer ${token}`,
    });
    const watch = new AbortController();
    let updates = 0;
    const watching = (async () => {
      for await (const update of stack.grpc.watchStock(
        { keys: [{ sku: 'SKU-M', locationId: 'W1' }], sendCurrent: true },
        { headers: { authorization: `Bearer ${token}` }, signal: watch.signal },
      ))
        if (update !== undefined) updates++;
    })().catch(() => undefined);
    try {
      const before = metricSum(await scrape(`${urls.probes}/metrics`), 'stockmind_rpc_duration_seconds_count', {
        method: 'QueryStock',
      });
      await eventually(async () => expect(updates).toBeGreaterThan(0), 5_000);
      for (let i = 0; i < 3; i++)
        await grpcJs.unary(InventoryService.method.queryStock, {
          keys: [{ sku: 'SKU-M', locationId: 'W1' }],
          consistency: Consistency.EVENTUAL,
        });

      const m = await eventually(async () => {
        const s = await scrape(`${urls.probes}/metrics`);
        // The SSE client, and two WatchStock streams: this spec's and the edge's upstream for the SSE.
        expect(metricSum(s, 'stockmind_streams_open', { kind: 'sse' })).toBe(1);
        expect(metricSum(s, 'stockmind_streams_open', { kind: 'watch_stock' })).toBe(2);
        expect(metricSum(s, 'stockmind_relay_lag_events')).toBe(0);
        return s;
      }, 15_000);
      const sum = (name: string, labels: Record<string, string> = {}) => metricSum(m, `stockmind_${name}`, labels);
      const reserve = { service: INVENTORY, method: 'ReserveStock' };
      expect(sum('rpc_duration_seconds_count', { ...reserve, code: 'OK' })).toBe(1);
      expect(sum('rpc_duration_seconds_count', { ...reserve, code: 'FAILED_PRECONDITION' })).toBe(1);
      // The three grpc-js calls count on the same histogram as the Connect port's.
      expect(sum('rpc_duration_seconds_count', { method: 'QueryStock' })).toBe((before ?? 0) + 3);
      expect(sum('reservations_total', { outcome: 'reserved', reason: '', channel: 'ecommerce' })).toBe(1);
      expect(
        sum('reservations_total', { outcome: 'refused', reason: 'INSUFFICIENT_STOCK', channel: 'ecommerce' }),
      ).toBe(1);
      // The receipt and the reservation each ran in a transaction of one command (the refusal too).
      expect(sum('core_batch_size_count')).toBeGreaterThanOrEqual(3);
      expect(sum('core_batch_size_sum')).toBe(sum('core_batch_size_count'));
      expect(sum('pg_pool_wait_seconds_count', { pool: 'core' })).toBeGreaterThan(0);
      expect(sum('pg_pool_wait_seconds_count', { pool: 'relay' })).toBeGreaterThan(0);
      // Eventual reads: from Redis, or from the ledger when Redis missed its 50 ms timeout (a loaded machine).
      const eventual =
        (sum('availability_reads_total', { source: 'redis' }) ?? 0) +
        (sum('availability_reads_total', { source: 'ledger_fallback' }) ?? 0);
      expect(eventual).toBeGreaterThanOrEqual(4);
      expect(sum('relay_lag_seconds')).toBe(0);
      expect(sum('oldest_transaction_age_seconds')).toBeGreaterThanOrEqual(0);
      expect(sum('oldest_transaction_age_seconds')).toBeLessThan(60);
      for (const projector of ['availability', 'analytics', 'webhooks_out']) {
        expect(sum('projector_lag_seconds', { projector })).toBeGreaterThanOrEqual(0);
        expect(sum('projector_lag_seconds', { projector })).toBeLessThan(60);
        expect(sum('dead_letters_total', { consumer: projector })).toBe(0);
      }
      expect(sum('webhook_delivery_attempts_total', { outcome: 'delivered' })).toBe(0);
      expect(
        sum('http_request_duration_seconds_count', {
          server: 'edge',
          route: '/v1/reservations',
          method: 'POST',
          status: '201',
        }),
      ).toBe(1);
      expect(sum('process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(m.filter((s) => 'tenant' in s.labels)).toEqual([]);
    } finally {
      watch.abort();
      await watching;
      sse.close();
      grpcJs.close();
    }
  }, 60_000);

  it('serves the same registry on the edge and webhook ports, and answers the probes', async () => {
    const names = (samples: Sample[]) => new Set(samples.map((s) => s.name).filter((n) => n.includes('reservations')));
    const fromProbes = names(await scrape(`${urls.probes}/metrics`));
    expect(fromProbes.size).toBeGreaterThan(0);
    expect(names(await scrape(`${stack.edgeUrl}/metrics`))).toEqual(fromProbes);
    expect(names(await scrape(`${urls.webhooks}/metrics`))).toEqual(fromProbes);
    for (const base of [urls.probes, stack.edgeUrl, urls.webhooks]) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { status: string }).status).toBe('ready');
    }
    const parts = ((await (await fetch(`${urls.probes}/readyz`)).json()) as { parts: Record<string, boolean> }).parts;
    expect(parts).toEqual({
      core: true,
      relay: true,
      availability: true,
      analytics: true,
      'webhooks-out': true,
      webhooks: true,
      edge: true,
    });
  });
});

describe('each process alone', () => {
  it('serves its own registry and probes on STOCKMIND_METRICS_PORT, and drains on SIGTERM with exit 0', async () => {
    const db = await createTestDatabase('metrics_alone', 2, { migrated: false });
    const namespace = testNamespace('alone');
    const corePort = await freePort();
    const env = { DATABASE_URL: db.url, STOCKMIND_NAMESPACE: namespace, CORE_PORT: String(corePort) };
    const core = await startCliProcess(['core'], env, /core listening/, 60_000);
    const relay = await startCliProcess(['relay'], env, /relay started/, 60_000);
    const projector = await startCliProcess(['project', 'availability'], env, /availability projector started/, 60_000);
    const token = await tokenFor(T);
    const grpc = createGrpcClient(InventoryService, `127.0.0.1:${corePort}`, { token });
    try {
      await registerCatalogRpc(grpc, { skus: ['SKU-A'], locations: ['W1'] });
      await grpc.unary(InventoryService.method.receiveStock, {
        movementId: 'alone-recv-1',
        sku: 'SKU-A',
        locationId: 'W1',
        quantity: 4n,
      });
      const own = {
        core: ['stockmind_rpc_duration_seconds_count', 'stockmind_core_batch_size_count'],
        relay: ['stockmind_relay_lag_events', 'stockmind_oldest_transaction_age_seconds'],
        projector: ['stockmind_projector_lag_seconds', 'stockmind_dead_letters_total'],
      };
      const processes = { core, relay, projector };
      await eventually(async () => {
        for (const [name, p] of Object.entries(processes)) {
          const s = await scrape(`${probesUrl(p.output())}/metrics`);
          const present = new Set(s.map((x) => x.name));
          for (const [other, metrics] of Object.entries(own))
            for (const metric of metrics)
              expect([name, metric, present.has(metric)]).toEqual([name, metric, name === other]);
          expect((await fetch(`${probesUrl(p.output())}/readyz`)).status).toBe(200);
        }
      }, 20_000);
      grpc.close();
      for (const p of [projector, relay, core]) expect(await p.stop('SIGTERM')).toBe(0);
      for (const p of [projector, relay, core]) expect(p.output()).toMatch(/"msg":"drained"/);
    } finally {
      grpc.close();
      for (const p of [projector, relay, core]) await p.stop('SIGKILL');
      const nc = await sharedNats('alone-cleanup');
      const redis = sharedRedis('alone-cleanup');
      // cleanupNamespace skips a client that is still connecting.
      await redisReady(redis, 5_000);
      await cleanupNamespace(namespace, { nc, redis });
      await nc.close();
      redis.disconnect();
      await db.drop();
    }
  }, 120_000);
});
