// Black Friday: several core processes on one ledger, every channel after the
// same units at the same instant. No unit may be sold twice, every loser gets a
// clear INSUFFICIENT_STOCK answer, and the ledger holds exactly what was sold.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/tokens.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { ReservationStatus } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { createGrpcClient, errorDetails } from '../../loadtest/runner/grpcClient.js';
import { startCoreProcess } from '../../loadtest/bench/processes.js';
import { createTestDatabase } from '../support/db.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { eventually } from '../support/wait.js';
import type { ServiceError } from '@grpc/grpc-js';
import type { CoreHandle } from '../../loadtest/bench/processes.js';
import type { TestDatabase } from '../support/db.js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { Channel as DomainChannel } from '../../core/src/domain/shared.js';

const m = InventoryService.method;
const TENANT = 'black-friday';
const PROCESSES = 3;
// Its own NATS subjects and Redis keys, so runs and other specs never see each other's.
const NAMESPACE = `e2e-bf-${randomBytes(3).toString('hex')}`;
const CLIENTS_PER_PROCESS = 4;

const token = (roles: ('admin' | 'channel_service')[], channels: DomainChannel[] = []) =>
  tokenFor(TENANT, { sub: `bf-${roles.join('-')}`, roles, channels });

/** Runs a call and notes how long it took, whether it succeeded or failed. */
const timed = async <T>(call: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await call();
  } finally {
    elapsed.push(performance.now() - t0);
  }
};
const elapsed: number[] = [];

const strongLevel = async (client: GrpcClient, sku: string, locationId: string) => {
  const res = await client.unary(m.queryStock, { keys: [{ sku, locationId }], consistency: Consistency.STRONG });
  const level = res.levels[0];
  if (level === undefined) throw new Error('QueryStock answered no level');
  return level;
};

describe('Black Friday: three core processes, one ledger', () => {
  let db: TestDatabase;
  let cores: CoreHandle[] = [];
  const clients: GrpcClient[] = [];
  let admin: GrpcClient[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('e2e_black_friday', 4);
    cores = await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        startCoreProcess({
          DATABASE_URL: db.url,
          STOCKMIND_PG_POOL_MAX: '10',
          STOCKMIND_NAMESPACE: NAMESPACE,
          STOCKMIND_EXPIRY_INTERVAL_MS: '200',
        }),
      ),
    );
    const adminToken = await token(['admin']);
    admin = cores.map((c) => createGrpcClient(InventoryService, `127.0.0.1:${c.port}`, { token: adminToken }));
    clients.push(...admin);
    // Registered through one process, written through all three: a product registered a moment ago is found by every core.
    await registerCatalogRpc(admin[0]!, {
      skus: ['SKU-4471', 'SKU-DOORBUSTER', 'SKU-RETRY', 'SKU-PAID', 'SKU-PAIR-A', 'SKU-PAIR-B', 'SKU-FLASH'],
      locations: ['W3'],
    });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    const codes = await Promise.all(cores.map((c) => c.stop()));
    await db?.drop();
    expect(codes.every((code) => code === 0)).toBe(true);
  });

  it('sells the last unit once when e-commerce, B2B and a marketplace ask for it at the same instant', async () => {
    const [first] = admin;
    await first!.unary(m.receiveStock, {
      movementId: 'bf-po-1',
      sku: 'SKU-4471',
      locationId: 'W3',
      quantity: 1n,
      reference: 'PO-1',
    });

    // Everything is built and connected before the race starts.
    const channels = [Channel.ECOMMERCE, Channel.B2B, Channel.MARKETPLACE] as const;
    const domainChannels: DomainChannel[] = ['ECOMMERCE', 'B2B', 'MARKETPLACE'];
    const racers = await Promise.all(
      channels.map(async (channel, i) => {
        const client = createGrpcClient(InventoryService, `127.0.0.1:${cores[i]!.port}`, {
          token: await token(['channel_service'], [domainChannels[i]!]),
        });
        clients.push(client);
        await strongLevel(client, 'SKU-4471', 'W3'); // opens the HTTP/2 connection
        const request = {
          reservationId: `bf-last-${i}`,
          channel,
          lines: [{ sku: 'SKU-4471', locationId: 'W3', quantity: 1n }],
        };
        return { client, request };
      }),
    );

    const results = await Promise.allSettled(
      racers.map(({ client, request }) => timed(() => client.unary(m.reserveStock, request))),
    );

    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ServiceError] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(2);
    for (const err of lost) {
      expect(err.code, err.message).toBe(9); // FAILED_PRECONDITION
      const { errorInfo } = errorDetails(err);
      expect(errorInfo?.reason).toBe('INSUFFICIENT_STOCK');
      expect(errorInfo?.metadata).toMatchObject({ sku: 'SKU-4471', location_id: 'W3', requested: '1', available: '0' });
    }
    expect(elapsed).toHaveLength(3);
    for (const ms of elapsed) expect(ms).toBeLessThan(1_000);

    const level = await strongLevel(first!, 'SKU-4471', 'W3');
    expect({ onHand: level.onHand, reserved: level.reserved, available: level.available }).toEqual({
      onHand: 1n,
      reserved: 1n,
      available: 0n,
    });
  });

  it('sells exactly 100 units to 500 concurrent one-unit reservations spread over the processes, and records the 400 refusals', async () => {
    const SKU = 'SKU-DOORBUSTER';
    await admin[0]!.unary(m.receiveStock, { movementId: 'bf-po-hot', sku: SKU, locationId: 'W3', quantity: 100n });

    const adminToken = await token(['admin']);
    const pool: GrpcClient[] = [];
    for (let k = 0; k < CLIENTS_PER_PROCESS; k++) {
      for (const core of cores)
        pool.push(createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token: adminToken }));
    }
    clients.push(...pool);
    await Promise.all(pool.map((c) => strongLevel(c, SKU, 'W3')));

    const channels = [Channel.ECOMMERCE, Channel.B2B, Channel.MARKETPLACE, Channel.POS];
    const calls = Array.from({ length: 500 }, (_, i) => ({
      // round-robin: i % 3 picks the process, i / 3 the client on it
      client: pool[(i % PROCESSES) + PROCESSES * (Math.floor(i / PROCESSES) % CLIENTS_PER_PROCESS)]!,
      request: {
        reservationId: `bf-hot-${String(i).padStart(3, '0')}`,
        channel: channels[i % channels.length]!,
        lines: [{ sku: SKU, locationId: 'W3', quantity: 1n }],
      },
    }));
    const results = await Promise.allSettled(calls.map(({ client, request }) => client.unary(m.reserveStock, request)));

    const succeeded = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.reservation?.reservationId] : []));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ServiceError] : []));
    const insufficient = failures.filter(
      (e) => e.code === 9 && errorDetails(e).errorInfo?.reason === 'INSUFFICIENT_STOCK',
    );
    const other = failures.filter((e) => !insufficient.includes(e)).map((e) => `${e.code}: ${e.details}`);
    expect(other).toEqual([]);
    expect(succeeded).toHaveLength(100);
    expect(new Set(succeeded).size).toBe(100);
    expect(insufficient).toHaveLength(400);

    const level = await strongLevel(admin[1]!, SKU, 'W3');
    expect({ onHand: level.onHand, reserved: level.reserved, available: level.available }).toEqual({
      onHand: 100n,
      reserved: 100n,
      available: 0n,
    });

    const { rows } = await db.pool.query<{ event_type: string; n: string }>(
      `select e.event_type, count(*) as n
         from events e join streams s on s.stream_id = e.stream_id
        where s.tenant_id = $1 and s.kind = 'stock_item' and s.location_id = 'W3' and s.sku = $2
        group by e.event_type`,
      [TENANT, SKU],
    );
    const byType = Object.fromEntries(rows.map((r) => [r.event_type, Number(r.n)]));
    expect(byType).toEqual({ 'stockmind.stock.stock_received.v1': 1, 'stockmind.stock.stock_reserved.v1': 100 });

    const placed = await db.pool.query<{ reservation_id: string }>(
      `select s.reservation_id
         from events e join streams s on s.stream_id = e.stream_id
        where s.tenant_id = $1 and s.kind = 'reservation' and s.reservation_id like 'bf-hot-%'
          and e.event_type = 'stockmind.reservations.reservation_placed.v1'`,
      [TENANT],
    );
    expect(placed.rows.map((r) => r.reservation_id).sort()).toEqual([...succeeded].sort());
    // The 400 refused ids left nothing behind: no idempotency key, so each may be retried.
    const keys = await db.pool.query<{ n: string }>(
      `select count(*) as n from idempotency_keys where tenant_id = $1 and scope = 'reservation' and key like 'bf-hot-%'`,
      [TENANT],
    );
    expect(Number(keys.rows[0]?.n)).toBe(100);

    // Lost demand: each refusal is recorded, in batches written after the refusing transaction.
    // Flushed every 250 ms per process; patient on a loaded machine.
    await eventually(
      async () => {
        const r = await db.pool.query<{ n: string }>(
          `select count(*) as n from demand_refusals where tenant_id = $1 and sku = $2 and available = 0 and requested = 1`,
          [TENANT, SKU],
        );
        expect(Number(r.rows[0]?.n)).toBe(400);
      },
      15_000,
      100,
    );
  });

  const countEvents = async (sql: string, values: unknown[]): Promise<Record<string, number>> => {
    const { rows } = await db.pool.query<{ event_type: string; n: string }>(sql, values);
    return Object.fromEntries(rows.map((r) => [r.event_type, Number(r.n)]));
  };

  it('gives every process the one original answer when the same reservation is sent to all of them at once', async () => {
    const SKU = 'SKU-RETRY';
    await admin[0]!.unary(m.receiveStock, { movementId: 'bf-po-retry', sku: SKU, locationId: 'W3', quantity: 5n });
    const request = {
      reservationId: 'bf-retry-1',
      channel: Channel.ECOMMERCE,
      lines: [{ sku: SKU, locationId: 'W3', quantity: 2n }],
    };
    const results = await Promise.allSettled([...admin, ...admin].map((c) => c.unary(m.reserveStock, request)));
    const errors = results.flatMap((r) =>
      r.status === 'rejected' ? [`${(r.reason as ServiceError).code}: ${(r.reason as ServiceError).details}`] : [],
    );
    expect(errors).toEqual([]);
    const answers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.reservation] : []));
    for (const a of answers) expect(a).toEqual(answers[0]);

    const level = await strongLevel(admin[2]!, SKU, 'W3');
    expect({ reserved: level.reserved, available: level.available }).toEqual({ reserved: 2n, available: 3n });
    const events = await countEvents(
      `select event_type, count(*) as n from events e join streams s on s.stream_id = e.stream_id
        where s.tenant_id = $1 and (s.reservation_id = 'bf-retry-1' or s.sku = $2) group by event_type`,
      [TENANT, SKU],
    );
    expect(events).toEqual({
      'stockmind.stock.stock_received.v1': 1,
      'stockmind.stock.stock_reserved.v1': 1,
      'stockmind.reservations.reservation_placed.v1': 1,
    });
  });

  it('confirms a reservation once when every process confirms it at the same time', async () => {
    const SKU = 'SKU-PAID';
    await admin[0]!.unary(m.receiveStock, { movementId: 'bf-po-paid', sku: SKU, locationId: 'W3', quantity: 5n });
    await admin[1]!.unary(m.reserveStock, {
      reservationId: 'bf-paid-1',
      channel: Channel.ECOMMERCE,
      lines: [{ sku: SKU, locationId: 'W3', quantity: 2n }],
    });
    const results = await Promise.allSettled(
      admin.map((c) => c.unary(m.confirmReservation, { reservationId: 'bf-paid-1', orderRef: 'ORDER-1' })),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    for (const r of results)
      if (r.status === 'fulfilled') expect(r.value.reservation?.status).toBe(ReservationStatus.CONFIRMED);
    const events = await countEvents(
      `select event_type, count(*) as n from events e join streams s on s.stream_id = e.stream_id
        where s.tenant_id = $1 and (s.reservation_id = 'bf-paid-1' or s.sku = $2) group by event_type`,
      [TENANT, SKU],
    );
    expect(events).toEqual({
      'stockmind.stock.stock_received.v1': 1,
      'stockmind.stock.stock_reserved.v1': 1,
      'stockmind.stock.reserved_stock_committed.v1': 1,
      'stockmind.reservations.reservation_placed.v1': 1,
      'stockmind.reservations.reservation_confirmed.v1': 1,
    });
    const level = await strongLevel(admin[0]!, SKU, 'W3');
    expect({ reserved: level.reserved, committed: level.committed, available: level.available }).toEqual({
      reserved: 0n,
      committed: 2n,
      available: 3n,
    });
  });

  it('never deadlocks when multi-line reservations lock the same items in opposite order', async () => {
    const [A, B] = ['SKU-PAIR-A', 'SKU-PAIR-B'];
    await admin[0]!.unary(m.receiveStock, { movementId: 'bf-po-pair-a', sku: A, locationId: 'W3', quantity: 1000n });
    await admin[0]!.unary(m.receiveStock, { movementId: 'bf-po-pair-b', sku: B, locationId: 'W3', quantity: 1000n });
    const results = await Promise.allSettled(
      Array.from({ length: 90 }, (_, i) => {
        const lines = [
          { sku: A, locationId: 'W3', quantity: 1n },
          { sku: B, locationId: 'W3', quantity: 1n },
        ];
        if (i % 2 === 1) lines.reverse();
        return admin[i % PROCESSES]!.unary(m.reserveStock, {
          reservationId: `bf-pair-${i}`,
          channel: Channel.B2B,
          lines,
        });
      }),
    );
    const errors = results.flatMap((r) =>
      r.status === 'rejected' ? [`${(r.reason as ServiceError).code}: ${(r.reason as ServiceError).details}`] : [],
    );
    expect(errors).toEqual([]);
    const [a, b] = (
      await admin[1]!.unary(m.queryStock, {
        keys: [
          { sku: A, locationId: 'W3' },
          { sku: B, locationId: 'W3' },
        ],
        consistency: Consistency.STRONG,
      })
    ).levels;
    expect([a?.reserved, b?.reserved]).toEqual([90n, 90n]);
  });

  it('expires due reservations exactly once with several core processes sharing the work', async () => {
    const SKU = 'SKU-FLASH';
    await admin[0]!.unary(m.receiveStock, { movementId: 'bf-po-flash', sku: SKU, locationId: 'W3', quantity: 30n });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        admin[i % PROCESSES]!.unary(m.reserveStock, {
          reservationId: `bf-flash-${i}`,
          channel: Channel.MARKETPLACE,
          lines: [{ sku: SKU, locationId: 'W3', quantity: 1n }],
          ttl: { seconds: 1n },
        }),
      ),
    );
    expect((await strongLevel(admin[0]!, SKU, 'W3')).available).toBe(0n);

    await eventually(
      async () => expect((await strongLevel(admin[Date.now() % PROCESSES]!, SKU, 'W3')).reserved).toBe(0n),
      8_000,
      100,
    );
    const events = await countEvents(
      `select event_type, count(*) as n from events e join streams s on s.stream_id = e.stream_id
        where s.tenant_id = $1 and (s.reservation_id like 'bf-flash-%' or s.sku = $2) group by event_type`,
      [TENANT, SKU],
    );
    expect(events).toEqual({
      'stockmind.stock.stock_received.v1': 1,
      'stockmind.stock.stock_reserved.v1': 30,
      'stockmind.stock.reserved_stock_released.v1': 30,
      'stockmind.reservations.reservation_placed.v1': 30,
      'stockmind.reservations.reservation_expired.v1': 30,
    });
    const expired = await admin[2]!.unary(m.getReservation, { reservationId: 'bf-flash-7' });
    expect(expired.reservation?.status).toBe(ReservationStatus.EXPIRED);
  });
});
