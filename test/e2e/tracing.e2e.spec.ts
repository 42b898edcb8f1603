// One trace from the caller to the Redis view: the W3C traceparent a REST client (or a gRPC client)
// sends is the parent of the edge's span, the core's call span, the command, its Postgres
// transaction, the event's publish by the relay (NATS headers), the availability projector's apply
// and its Redis write. The parts run in this process on one in-memory exporter.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { createGrpcClient } from '../../loadtest/runner/grpcClient.js';
import { loadConfig } from '../../platform/config.js';
import { createMetrics } from '../../platform/telemetry/metrics.js';
import { createTracing } from '../../platform/telemetry/tracing.js';
import { run as runCore } from '../../core/src/main.js';
import { run as runRelay } from '../../projectors/relay/main.js';
import { run as runAvailability } from '../../projectors/availability/main.js';
import { run as runEdge } from '../../gateways/rest/main.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { createTestDatabase } from '../support/db.js';
import { cleanupNamespace, sharedNats, sharedRedis, silentLog, testNamespace } from '../support/readside.js';
import { redisReady } from '../../platform/redis.js';
import { tokenFor } from '../support/tokens.js';
import { defined, eventually } from '../support/wait.js';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Component } from '../../platform/process.js';
import type { TestDatabase } from '../support/db.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

const T = 'trace-tenant';
const exporter = new InMemorySpanExporter();
const telemetry: Telemetry = {
  metrics: createMetrics(),
  tracing: createTracing('stockmind-spec', [new SimpleSpanProcessor(exporter)]),
};
const namespace = testNamespace('tracing');
const parts: Component[] = [];
let db: TestDatabase;
let edgeUrl = '';
let grpcAddress = '';
let token = '';

/** A caller's own span, as its traceparent. */
const callerSpan = () => {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
};

const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const named = (spans: ReadableSpan[], name: string) =>
  defined(
    spans.find((s) => s.name === name),
    `the span "${name}"`,
  );

beforeAll(async () => {
  db = await createTestDatabase('tracing', 2, { migrated: false });
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    STOCKMIND_NAMESPACE: namespace,
    CORE_PORT: '0',
    CORE_GRPC_PORT: '0',
    EDGE_PORT: '0',
  });
  const core = await runCore(config, silentLog, { telemetry });
  parts.push({ name: 'core', close: () => core.close() });
  grpcAddress = `127.0.0.1:${core.grpcPort}`;
  parts.push(await runRelay(config, silentLog, { telemetry }));
  parts.push(await runAvailability(config, silentLog, { telemetry }));
  const edge = await runEdge(config, silentLog, { coreUrl: `http://127.0.0.1:${core.port}`, telemetry });
  parts.push(edge);
  edgeUrl = edge.url;
  token = await tokenFor(T);
  const client = createGrpcClient(InventoryService, grpcAddress, { token });
  await registerCatalogRpc(client, { skus: ['SKU-T'], locations: ['W1'] });
  client.close();
}, 60_000);

afterAll(async () => {
  for (const p of parts.reverse()) await p.close();
  await telemetry.tracing?.shutdown();
  const nc = await sharedNats('tracing-cleanup');
  const redis = sharedRedis('tracing-cleanup');
  // cleanupNamespace skips a client that is still connecting.
  await redisReady(redis, 5_000);
  await cleanupNamespace(namespace, { nc, redis });
  await nc.close();
  redis.disconnect();
  await db?.drop();
});

describe('traces', () => {
  it('links a gRPC client through the core call, the command and its transaction, and the event carries it on', async () => {
    const caller = callerSpan();
    const client = createGrpcClient(InventoryService, grpcAddress, {
      token,
      metadata: { traceparent: caller.traceparent },
    });
    try {
      await client.unary(InventoryService.method.receiveStock, {
        movementId: 'trace-recv-1',
        sku: 'SKU-T',
        locationId: 'W1',
        quantity: 5n,
      });
    } finally {
      client.close();
    }
    const spans = await eventually(async () => {
      const found = spansOf(caller.traceId);
      named(found, 'postgres transaction');
      return found;
    });
    const call = named(spans, 'stockmind.inventory.v1.InventoryService/ReceiveStock');
    const command = named(spans, 'command receive');
    const tx = named(spans, 'postgres transaction');
    expect(parentOf(call)).toBe(caller.spanId);
    expect(parentOf(command)).toBe(call.spanContext().spanId);
    expect(parentOf(tx)).toBe(command.spanContext().spanId);
    expect(tx.attributes['db.system.name']).toBe('postgresql');

    const { rows } = await db.pool.query<{ metadata: { traceparent?: string; traceId?: string } }>(
      `select metadata from events where event_id is not null order by global_position desc limit 1`,
    );
    expect(rows[0]?.metadata.traceparent).toBe(`00-${caller.traceId}-${command.spanContext().spanId}-01`);
    expect(rows[0]?.metadata.traceId).toBe(caller.traceId);
  });

  it('follows a REST reservation from the edge to the projector writing Redis', async () => {
    const caller = callerSpan();
    const res = await fetch(`${edgeUrl}/v1/reservations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': 'trace-order-1',
        traceparent: caller.traceparent,
      },
      body: JSON.stringify({ channel: 'ECOMMERCE', lines: [{ sku: 'SKU-T', location: 'W1', quantity: 2 }] }),
    });
    expect(res.status).toBe(201);
    const spans = await eventually(async () => {
      const found = spansOf(caller.traceId);
      named(found, 'redis apply availability');
      return found;
    }, 10_000);
    const edge = named(spans, 'POST /v1/reservations');
    const call = named(spans, 'stockmind.inventory.v1.InventoryService/ReserveStock');
    const command = named(spans, 'command reserve');
    const tx = named(spans, 'postgres transaction');
    const publish = named(spans, 'publish stockmind.stock.stock_reserved.v1');
    const apply = named(spans, 'availability apply stockmind.stock.stock_reserved.v1');
    const redis = named(spans, 'redis apply availability');
    const id = (s: ReadableSpan) => s.spanContext().spanId;
    expect(parentOf(edge)).toBe(caller.spanId);
    expect(parentOf(call)).toBe(id(edge));
    expect(parentOf(command)).toBe(id(call));
    expect(parentOf(tx)).toBe(id(command));
    expect(parentOf(publish)).toBe(id(command));
    expect(parentOf(apply)).toBe(id(publish));
    expect(parentOf(redis)).toBe(id(apply));
    expect(edge.attributes['http.response.status_code']).toBe(201);
    expect(publish.attributes['messaging.system']).toBe('nats');
    expect(redis.attributes['db.system.name']).toBe('redis');
  });
});
