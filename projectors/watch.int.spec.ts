// WatchStock through a real `stockmind start` process (core + relay +
// projectors): a watcher sees the level a reservation causes moments after it
// commits, and send_current sends the current level first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../platform/postgres/pool.js';
import { analyticsUrlFor } from '../platform/config.js';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import { InventoryService } from '../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel } from '../gen/stockmind/inventory/v1/stock_pb.js';
import { signToken } from '../platform/auth/tokens.js';
import { DEVELOPMENT_JWT_SECRET } from '../platform/config.js';
import { createGrpcClient } from '../loadtest/runner/grpcClient.js';
import { freePort, startCoreProcess } from '../loadtest/bench/processes.js';
import { createTestDatabase } from '../test/support/db.js';
import { registerCatalogRpc } from '../test/support/catalog.js';
import { cleanupNamespace, sharedNats, sharedRedis, testNamespace } from '../test/support/readside.js';
import type { Client } from '@connectrpc/connect';
import type { CoreHandle } from '../loadtest/bench/processes.js';
import type { GrpcClient } from '../loadtest/runner/grpcClient.js';
import type { TestDatabase } from '../test/support/db.js';
import type { StockLevel, WatchStockResponse } from '../gen/stockmind/inventory/v1/stock_pb.js';

const T = 'watch-tenant';
const m = InventoryService.method;
const ns = testNamespace('watch');

let db: TestDatabase;
let core: CoreHandle;
let unary: GrpcClient;
let streaming: Client<typeof InventoryService>;
let session: Http2SessionManager;
let headers: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase('watch', 2);
  // `start` also runs the REST edge and the webhook gateway: free ports, not the defaults another stack may hold.
  core = await startCoreProcess(
    {
      DATABASE_URL: db.url,
      STOCKMIND_NAMESPACE: ns,
      STOCKMIND_PG_POOL_MAX: '4',
      EDGE_PORT: String(await freePort()),
      WEBHOOK_PORT: String(await freePort()),
    },
    30_000,
    'start',
  );
  const token = await signToken(
    DEVELOPMENT_JWT_SECRET,
    { tenant: T, sub: 'watcher', roles: ['admin'], locations: [], channels: [] },
    600,
  );
  headers = { authorization: `Bearer ${token}` };
  unary = createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token });
  // Every product and location the tests move stock of (SKU-N0…SKU-N24 included), before any write.
  await registerCatalogRpc(unary, {
    skus: ['SKU-W', 'SKU-L1', ...Array.from({ length: 25 }, (_, i) => `SKU-N${i}`)],
    locations: ['W1', 'STORE-7'],
  });
  session = new Http2SessionManager(core.url);
  streaming = createClient(InventoryService, createGrpcTransport({ baseUrl: core.url, sessionManager: session }));
});

afterAll(async () => {
  unary?.close();
  session?.abort();
  await core?.stop();
  const nc = await sharedNats('watch-spec-cleanup');
  const redis = sharedRedis('watch-spec-cleanup');
  await new Promise((r) => redis.once('ready', r));
  await cleanupNamespace(ns, { nc, redis });
  await nc.close();
  redis.disconnect();
  if (db !== undefined) await dropDatabase(analyticsUrlFor(db.url));
  await db?.drop();
});

type Watch = { next(timeoutMs?: number): Promise<WatchStockResponse>; close(): void };

/** Opens a watch, retrying while the core's broker subscription is still coming up (UNAVAILABLE). */
const watch = async (
  request: Parameters<typeof streaming.watchStock>[0],
  firstTimeoutMs = 5_000,
): Promise<{ w: Watch; first: WatchStockResponse }> => {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const abort = new AbortController();
    const it = streaming.watchStock(request, { headers, signal: abort.signal })[Symbol.asyncIterator]();
    const w: Watch = {
      async next(timeoutMs = 5_000) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no WatchStock message within ${timeoutMs} ms`)), timeoutMs);
        });
        try {
          const r = await Promise.race([it.next(), timeout]);
          if (r.done === true) throw new Error('the watch ended');
          return r.value;
        } finally {
          clearTimeout(timer);
        }
      },
      close: () => abort.abort(),
    };
    try {
      return { w, first: await w.next(firstTimeoutMs) };
    } catch (err) {
      w.close();
      if (!(err instanceof ConnectError && err.code === Code.Unavailable) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
};

const levels = (l: StockLevel | undefined) => ({
  onHand: l?.onHand,
  reserved: l?.reserved,
  available: l?.available,
  version: l?.version,
});

describe('WatchStock', () => {
  it('sends the current level first, then the level a reservation causes within moments', async () => {
    const key = { sku: 'SKU-W', locationId: 'W1' };
    await unary.unary(m.receiveStock, { movementId: 'w-recv-1', ...key, quantity: 10n });

    const { w, first } = await watch({ keys: [key], sendCurrent: true });
    try {
      expect(first.eventId).toBe('');
      expect(levels(first.level)).toEqual({ onHand: 10n, reserved: 0n, available: 10n, version: 1n });

      const t0 = performance.now();
      await unary.unary(m.reserveStock, {
        reservationId: 'w-res-1',
        channel: Channel.ECOMMERCE,
        lines: [{ ...key, quantity: 4n }],
      });
      const change = await w.next(5_000);
      const elapsedMs = performance.now() - t0;
      expect(change.eventId).not.toBe('');
      expect(levels(change.level)).toEqual({ onHand: 10n, reserved: 4n, available: 6n, version: 2n });
      // ~2 s is the promise; the bound is generous for a shared two-core machine.
      expect(elapsedMs).toBeLessThan(3_000);
    } finally {
      w.close();
    }
  });

  it('streams every change at a watched location, and nothing from other locations', async () => {
    await unary.unary(m.receiveStock, { movementId: 'w-recv-l1', sku: 'SKU-L1', locationId: 'STORE-7', quantity: 5n });
    // Without send_current nothing says when the watch is registered: keep moving stock (elsewhere, then
    // here) until the first change arrives; it must come from the watched location.
    const opened = watch({ locationId: 'STORE-7' }, 10_000);
    let done = false;
    void opened.finally(() => (done = true)).catch(() => undefined);
    for (let i = 0; !done && i < 25; i++) {
      await unary.unary(m.receiveStock, { movementId: `w-other-${i}`, sku: 'SKU-L1', locationId: 'W1', quantity: 1n });
      await unary.unary(m.receiveStock, {
        movementId: `w-here-${i}`,
        sku: `SKU-N${i}`,
        locationId: 'STORE-7',
        quantity: 3n,
      });
      await new Promise((r) => setTimeout(r, 300));
    }
    const { w, first } = await opened;
    try {
      // The receipt of SKU-L1 committed before the watch opened, but the relay may publish it after the
      // watch registered: then it is the first change, which is right too. Either way it is from STORE-7.
      if (first.level?.sku === 'SKU-L1') {
        expect(first.level).toMatchObject({ locationId: 'STORE-7', onHand: 5n, version: 1n });
      } else {
        expect(first.level).toMatchObject({ locationId: 'STORE-7', onHand: 3n, version: 1n });
        expect(first.level?.sku).toMatch(/^SKU-N\d+$/);
      }
      await unary.unary(m.reserveStock, {
        reservationId: 'w-res-2',
        channel: Channel.ECOMMERCE,
        lines: [{ sku: 'SKU-L1', locationId: 'STORE-7', quantity: 2n }],
      });
      for (;;) {
        const next = await w.next(5_000);
        expect(next.level?.locationId).toBe('STORE-7');
        if (next.level?.sku !== 'SKU-L1') continue;
        expect(next.level).toMatchObject({ onHand: 5n, reserved: 2n, available: 3n, version: 2n });
        break;
      }
    } finally {
      w.close();
    }
  });
});
