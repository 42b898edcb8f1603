// The second port (CORE_GRPC_PORT): the same handlers over @grpc/grpc-js answer
// exactly as the Connect port does — tokens, refusals with their details,
// field violations, deadlines, health and WatchStock streams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/tokens.js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import {
  Channel,
  Consistency,
  WatchStockResponseSchema,
  WatchStockRequestSchema,
} from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import { createGrpcClient, errorDetails, grpc } from '../../loadtest/runner/grpcClient.js';
import { freePort } from '../../loadtest/bench/processes.js';
import { failure } from '../support/core.js';
import { eventually } from '../support/wait.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { startStack } from '../support/edge.js';
import { loggedAfter } from '../support/log.js';
import type { ServiceError } from '@grpc/grpc-js';
import type { WatchStockResponse } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { Stack } from '../support/edge.js';

const m = InventoryService.method;
let stack: Stack;
let grpcPort: number;
let token: string;
const clients: GrpcClient[] = [];

const client = (tok?: string, port = grpcPort) => {
  const c = createGrpcClient(InventoryService, `127.0.0.1:${port}`, tok === undefined ? {} : { token: tok });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  grpcPort = await freePort();
  // The whole stack (`start`), so the relay feeds WatchStock; at debug level the core logs each
  // registered watcher, the signal a location watch gives.
  stack = await startStack('e2e_grpcjs', { CORE_GRPC_PORT: String(grpcPort), LOG_LEVEL: 'debug' });
  token = await tokenFor('gj', { sub: 'gj-admin' });
  await registerCatalogRpc(client(token), { skus: ['SKU-G'], locations: ['W1'] });
});

afterAll(async () => {
  for (const c of clients) c.close();
  expect(await stack?.stop()).toBe(0);
});

describe('the grpc-js port', () => {
  it('says where it listens', () => {
    expect(stack.core.output()).toContain(
      `core gRPC (grpc-js, recommended for internal services) on 127.0.0.1:${grpcPort}`,
    );
  });

  it('reserves against the same ledger the Connect port writes, and answers the same levels', async () => {
    const g = client(token);
    const connectPort = client(token, stack.core.port);
    await connectPort.unary(m.receiveStock, { movementId: 'gj-rcv', sku: 'SKU-G', locationId: 'W1', quantity: 3n });
    const res = await g.unary(m.reserveStock, {
      reservationId: 'gj-res-1',
      channel: Channel.ECOMMERCE,
      lines: [{ sku: 'SKU-G', locationId: 'W1', quantity: 2n }],
    });
    expect(res.reservation?.lines[0]?.baseQuantity).toBe(2n);
    const strong = { keys: [{ sku: 'SKU-G', locationId: 'W1' }], consistency: Consistency.STRONG };
    const [viaGrpcJs, viaConnect] = await Promise.all([g, connectPort].map((c) => c.unary(m.queryStock, strong)));
    expect(viaGrpcJs?.levels[0]).toMatchObject({ onHand: 3n, reserved: 2n, available: 1n });
    expect(viaGrpcJs?.levels[0]?.version).toBe(viaConnect?.levels[0]?.version);
  });

  it('refuses with the same code and google.rpc details: INSUFFICIENT_STOCK, field violations, NOT_FOUND', async () => {
    const g = client(token);
    const short = await failure(
      g.unary(m.reserveStock, {
        reservationId: 'gj-res-2',
        channel: Channel.ECOMMERCE,
        lines: [{ sku: 'SKU-G', locationId: 'W1', quantity: 5n }],
      }),
    );
    expect(short.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(errorDetails(short).errorInfo).toMatchObject({
      reason: 'INSUFFICIENT_STOCK',
      metadata: { requested: '5', available: '1' },
    });
    const bad = await failure(g.unary(m.reserveStock, { reservationId: '', channel: Channel.ECOMMERCE, lines: [] }));
    expect(bad.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(errorDetails(bad).badRequest?.fieldViolations.map((v) => v.field)).toEqual(['reservation_id', 'lines']);
    const unknown = await failure(g.unary(m.getReservation, { reservationId: 'gj-none' }));
    expect([unknown.code, errorDetails(unknown).errorInfo?.reason]).toEqual([
      GrpcStatus.NOT_FOUND,
      'RESERVATION_NOT_FOUND',
    ]);
  });

  it('needs a valid token for the inventory, and none for health', async () => {
    expect((await failure(client().unary(m.queryStock, { keys: [{ sku: 'SKU-G', locationId: 'W1' }] }))).code).toBe(
      GrpcStatus.UNAUTHENTICATED,
    );
    expect(
      (await failure(client('not-a-jwt').unary(m.queryStock, { keys: [{ sku: 'SKU-G', locationId: 'W1' }] }))).code,
    ).toBe(GrpcStatus.UNAUTHENTICATED);
    const health = createGrpcClient(Health, `127.0.0.1:${grpcPort}`);
    clients.push(health);
    expect((await health.unary(Health.method.check, { service: '' })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  it("echoes the caller's correlation id on refusals", async () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    md.set('correlation-id', 'gj-corr-1');
    const raw = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const err = await new Promise<ServiceError>((resolve) =>
      raw.makeUnaryRequest(
        `/${InventoryService.typeName}/GetReservation`,
        (x: Uint8Array) => Buffer.from(x),
        (b: Buffer) => b,
        toBinary(m.getReservation.input, create(m.getReservation.input, { reservationId: 'gj-none' })),
        md,
        (e) => resolve(e as ServiceError),
      ),
    );
    raw.close();
    expect(err.metadata.get('correlation-id')).toEqual(['gj-corr-1']);
  });

  it('streams WatchStock of a store under a region like any other, by key and by location', async () => {
    const g = client(token);
    await g.unary(m.upsertLocation, { locationId: 'R-GJ', name: 'region', kind: LocationKind.REGION });
    await g.unary(m.upsertLocation, { locationId: 'S-GJ', name: 'store', kind: LocationKind.STORE, parentId: 'R-GJ' });
    await g.unary(m.receiveStock, { movementId: 'gj-rcv-s', sku: 'SKU-G', locationId: 'S-GJ', quantity: 4n });
    const stream = watch({ keys: [{ sku: 'SKU-G', locationId: 'S-GJ' }], sendCurrent: true });
    try {
      expect((await stream.next()).level).toMatchObject({ locationId: 'S-GJ', onHand: 4n });
      await g.unary(m.reserveStock, {
        reservationId: 'gj-res-s',
        channel: Channel.ECOMMERCE,
        lines: [{ sku: 'SKU-G', locationId: 'S-GJ', quantity: 1n }],
      });
      expect((await stream.next()).level).toMatchObject({ locationId: 'S-GJ', reserved: 1n, available: 3n });
    } finally {
      stream.close();
    }
    const byLocation = await loggedAfter(stack.core.output, 'watcher registered', () => watch({ locationId: 'S-GJ' }));
    try {
      await g.unary(m.reserveStock, {
        reservationId: 'gj-res-s2',
        channel: Channel.ECOMMERCE,
        lines: [{ sku: 'SKU-G', locationId: 'S-GJ', quantity: 1n }],
      });
      // The first hold's event may still be on its way when this watch opens: skip to the second's.
      let level = (await byLocation.next()).level;
      if (level?.reserved === 1n) level = (await byLocation.next()).level;
      expect(level).toMatchObject({ locationId: 'S-GJ', reserved: 2n, available: 2n });
    } finally {
      byLocation.close();
    }
  });

  it('streams WatchStock: the current level first, then the change a reservation causes', async () => {
    // send_current reads the Redis view: let it catch up with the reservation made above first.
    await eventually(async () => {
      const { levels } = await client(token).unary(m.queryStock, { keys: [{ sku: 'SKU-G', locationId: 'W1' }] });
      expect(levels[0]?.reserved).toBe(2n);
    }, 10_000);
    const stream = watch({ keys: [{ sku: 'SKU-G', locationId: 'W1' }], sendCurrent: true });
    try {
      const first = await stream.next();
      expect(first.level).toMatchObject({ onHand: 3n, reserved: 2n });
      await client(token).unary(m.reserveStock, {
        reservationId: 'gj-res-3',
        channel: Channel.ECOMMERCE,
        lines: [{ sku: 'SKU-G', locationId: 'W1', quantity: 1n }],
      });
      const change = await stream.next();
      expect(change.level).toMatchObject({ reserved: 3n, available: 0n });
      expect(change.eventId).not.toBe('');
    } finally {
      stream.close();
    }
  });
});

/** A raw grpc-js server stream of WatchStock, read one message at a time. */
const watch = (request: Parameters<typeof create<typeof WatchStockRequestSchema>>[1]) => {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  const raw = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  const body = toBinary(WatchStockRequestSchema, create(WatchStockRequestSchema, request));
  const call = raw.makeServerStreamRequest(
    `/${InventoryService.typeName}/WatchStock`,
    (x: Uint8Array) => Buffer.from(x),
    (b: Buffer) => fromBinary(WatchStockResponseSchema, b),
    body,
    md,
  );
  // Listening from the start and queueing: a message that arrives between two next() calls is kept.
  const received: WatchStockResponse[] = [];
  let failed: Error | null = null;
  let wake: (() => void) | null = null;
  call.on('data', (msg: WatchStockResponse) => {
    received.push(msg);
    wake?.();
  });
  call.on('error', (err: Error) => {
    failed = err;
    wake?.();
  });
  return {
    async next(): Promise<WatchStockResponse> {
      for (;;) {
        const msg = received.shift();
        if (msg !== undefined) return msg;
        if (failed !== null) throw failed;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no WatchStock message within 10 s')), 10_000);
          wake = () => {
            clearTimeout(timer);
            wake = null;
            resolve();
          };
        });
      }
    },
    close: () => {
      call.cancel();
      raw.close();
    },
  };
};
