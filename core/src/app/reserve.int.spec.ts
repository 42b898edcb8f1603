// Placing reservations and receiving stock through the use cases, on a real
// Postgres: all lines or none, idempotency (sequential and concurrent),
// cancellation before commit, lost-demand records and input validation.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../platform/errors.js';
import { CancelledBeforeCommit } from '../../../platform/postgres/tx.js';
import {
  accepted,
  caller,
  probes,
  receiveInput,
  refused,
  rejection,
  reserveInput,
  startApp,
  levelsOf as stockLevels,
} from '../../../test/support/app.js';
import { registerCatalog } from '../../../test/support/catalog.js';
import type { AppHarness, Line } from '../../../test/support/app.js';
import type { ReserveInput } from './validation.js';
import { eventually, sleep } from '../../../test/support/wait.js';

const PLACED = 'stockmind.reservations.reservation_placed.v1';
const RECEIVED = 'stockmind.stock.stock_received.v1';

let app: AppHarness;
let db: ReturnType<typeof probes>;

beforeAll(async () => {
  app = await startApp('app_reserve');
  db = probes(app.db);
  // Writes to an SKU or location the catalog does not know answer NOT_FOUND: register every one moved here.
  const register = (
    tenant: string,
    skus: string[],
    locations: string[],
    units: { name: string; baseUnits: number }[] = [],
  ) => registerCatalog(app.inventory, tenant, { skus, locations, units });
  await register('all-or-none', ['sku-a', 'sku-b', 'sku-c'], ['wh-1', 'wh-2']);
  await register('idem', ['sku-r', 'sku-burst', 'sku-mv'], ['wh-1']);
  await register('write-path', ['sku-hot', 'sku-m', 'sku-n', 'sku-pool'], ['wh-1', 'wh-2']);
  await register('cancel', ['sku-x'], ['wh-1']);
  await register('demand', ['sku-scarce'], ['store-7']);
  await register(
    'validation',
    ['sku-v', 'sku-w', ...Array.from({ length: 101 }, (_, i) => `sku-${i}`)],
    ['wh-1'],
    [{ name: 'box', baseUnits: 12 }],
  );
});
afterAll(async () => {
  await app?.close();
});

const levelsOf = (tenant: string, sku: string, loc = 'wh-1') => stockLevels(app.inventory, tenant, sku, loc);

const stock = async (tenant: string, sku: string, quantity: number, loc = 'wh-1') =>
  app.inventory.receive(caller(tenant), receiveInput(`mv-${sku}-${quantity}-${Math.random()}`, sku, loc, quantity));

describe('all lines or none', () => {
  const T = 'all-or-none';
  const lines: Line[] = [
    ['sku-a', 'wh-1', 5],
    ['sku-b', 'wh-2', 5],
    ['sku-c', 'wh-1', 3],
  ];

  it('refuses a reservation whose last line lacks stock, naming that line, and appends nothing for any line', async () => {
    await stock(T, 'sku-a', 10);
    await stock(T, 'sku-b', 10, 'wh-2');
    await stock(T, 'sku-c', 2);
    const before = {
      events: await db.eventCount(),
      streams: await db.streamCount(),
      a: await db.stockVersion(T, 'sku-a', 'wh-1'),
      b: await db.stockVersion(T, 'sku-b', 'wh-2'),
      c: await db.stockVersion(T, 'sku-c', 'wh-1'),
    };

    const refusal = refused(await app.inventory.reserve(caller(T), reserveInput('res-aon', lines)));
    expect(refusal).toEqual({
      reason: 'INSUFFICIENT_STOCK',
      sku: 'sku-c',
      locationId: 'wh-1',
      requested: 3,
      available: 2,
    });

    expect(await db.eventCount()).toBe(before.events);
    expect(await db.streamCount()).toBe(before.streams);
    expect(await db.stockVersion(T, 'sku-a', 'wh-1')).toBe(before.a);
    expect(await db.stockVersion(T, 'sku-b', 'wh-2')).toBe(before.b);
    expect(await db.stockVersion(T, 'sku-c', 'wh-1')).toBe(before.c);
    expect(await db.reservationVersion(T, 'res-aon')).toBeNull();
    expect(await db.idempotencyRows(T, 'reservation', 'res-aon')).toBe(0);
    expect(await levelsOf(T, 'sku-a')).toMatchObject({ reserved: 0, available: 10 });
    expect(await levelsOf(T, 'sku-b', 'wh-2')).toMatchObject({ reserved: 0, available: 10 });
  });

  it('lets the refused reservation id be retried once more stock arrived', async () => {
    await stock(T, 'sku-c', 1);
    const view = accepted(await app.inventory.reserve(caller(T), reserveInput('res-aon', lines)));
    expect(view).toMatchObject({ status: 'PENDING', version: 1 });
    expect(await levelsOf(T, 'sku-a')).toMatchObject({ reserved: 5, available: 5 });
    expect(await levelsOf(T, 'sku-b', 'wh-2')).toMatchObject({ reserved: 5, available: 5 });
    expect(await levelsOf(T, 'sku-c')).toMatchObject({ reserved: 3, available: 0 });
  });
});

describe('idempotency', () => {
  const T = 'idem';

  it('answers a repeated reservation with the original view and appends nothing', async () => {
    await stock(T, 'sku-r', 10);
    const input = reserveInput('res-again', [['sku-r', 'wh-1', 2]], { orderRef: 'o-1' });
    const first = accepted(await app.inventory.reserve(caller(T), input));
    const events = await db.eventCount();
    await sleep(20); // a re-run would compute a later expiresAt

    const again = accepted(await app.inventory.reserve(caller(T), structuredClone(input)));
    expect(again).toEqual(first);
    expect(await db.eventCount()).toBe(events);
    expect(await levelsOf(T, 'sku-r')).toMatchObject({ reserved: 2 });
  });

  it('answers ALREADY_EXISTS when a reservation id is reused with another request', async () => {
    const original = reserveInput('res-reused', [['sku-r', 'wh-1', 1]]);
    accepted(await app.inventory.reserve(caller(T), original));
    const events = await db.eventCount();
    for (const other of [
      { ...original, lines: [{ ...original.lines[0], quantity: 2 }] },
      { ...original, channel: 'B2B' },
      { ...original, ttlMs: 60_000 },
    ] as ReserveInput[]) {
      const err = await rejection(app.inventory.reserve(caller(T), other));
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'ALREADY_EXISTS' });
    }
    expect(await db.eventCount()).toBe(events);
  });

  it('gives ten concurrent identical reservations one hold, one ReservationPlaced event and the same view', async () => {
    await stock(T, 'sku-burst', 10);
    const input = reserveInput('res-burst', [['sku-burst', 'wh-1', 3]]);
    const views = (
      await Promise.all(Array.from({ length: 10 }, () => app.inventory.reserve(caller(T), structuredClone(input))))
    ).map(accepted);
    for (const v of views) expect(v).toEqual(views[0]);
    const placed = (await db.eventsOfType(PLACED, T)).filter((e) => e.data.reservationId === 'res-burst');
    expect(placed).toHaveLength(1);
    expect(await db.reservationVersion(T, 'res-burst')).toBe(1);
    expect(await levelsOf(T, 'sku-burst')).toMatchObject({ reserved: 3, available: 7 });
  });

  it('applies a repeated receipt (same movement id) once, sequentially or concurrently', async () => {
    const input = receiveInput('mv-once', 'sku-mv', 'wh-1', 4);
    const first = await app.inventory.receive(caller(T), input);
    const again = await app.inventory.receive(caller(T), { ...input });
    expect(again).toEqual(first);
    expect(await levelsOf(T, 'sku-mv')).toMatchObject({ onHand: 4 });

    const err = await rejection(app.inventory.receive(caller(T), { ...input, quantity: 5 }));
    expect(err).toMatchObject({ code: 'ALREADY_EXISTS' });

    const burst = receiveInput('mv-burst', 'sku-mv', 'wh-1', 6);
    const results = await Promise.all(Array.from({ length: 10 }, () => app.inventory.receive(caller(T), { ...burst })));
    for (const r of results) expect(r).toEqual(results[0]);
    expect(await levelsOf(T, 'sku-mv')).toMatchObject({ onHand: 10 });
    expect((await db.eventsOfType(RECEIVED, T)).filter((e) => e.data.movementId === 'mv-burst')).toHaveLength(1);
  });
});

describe('write path', () => {
  const T = 'write-path';

  it('never sells the last unit twice: 30 concurrent one-unit reservations of 10 units hold exactly 10', async () => {
    await stock(T, 'sku-hot', 10);
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        app.inventory.reserve(caller(T), reserveInput(`res-hot-${i}`, [['sku-hot', 'wh-1', 1]])),
      ),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(10);
    for (const o of outcomes.filter((x) => !x.ok))
      expect(refused(o)).toMatchObject({ reason: 'INSUFFICIENT_STOCK', available: 0 });
    expect(await levelsOf(T, 'sku-hot')).toMatchObject({ onHand: 10, reserved: 10, available: 0 });
    expect(await db.stockVersion(T, 'sku-hot', 'wh-1')).toBe(11);
  });

  it('takes multi-line reservations listing the same items in opposite orders without deadlock or partial holds', async () => {
    await stock(T, 'sku-m', 12);
    await stock(T, 'sku-n', 12, 'wh-2');
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, (_, i) => {
        const lines: Line[] = [
          ['sku-m', 'wh-1', 1],
          ['sku-n', 'wh-2', 1],
        ];
        return app.inventory.reserve(caller(T), reserveInput(`res-mn-${i}`, i % 2 === 0 ? lines : lines.reverse()));
      }),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(12);
    expect(await levelsOf(T, 'sku-m')).toMatchObject({ reserved: 12, available: 0 });
    expect(await levelsOf(T, 'sku-n', 'wh-2')).toMatchObject({ reserved: 12, available: 0 });
  });

  it('keeps its pooled connection after answering NOT_FOUND or ALREADY_EXISTS', async () => {
    await stock(T, 'sku-pool', 5);
    accepted(await app.inventory.reserve(caller(T), reserveInput('res-pool', [['sku-pool', 'wh-1', 1]])));
    let dropped = 0;
    const onRemove = () => dropped++;
    app.db.pool.on('remove', onRemove);
    try {
      for (let i = 0; i < 5; i++) {
        expect(await rejection(app.inventory.confirm(caller(T), 'res-unknown', ''))).toMatchObject({
          code: 'NOT_FOUND',
        });
        expect(
          await rejection(app.inventory.reserve(caller(T), reserveInput('res-pool', [['sku-pool', 'wh-1', 2]]))),
        ).toMatchObject({
          code: 'ALREADY_EXISTS',
        });
      }
      // A marker through the same pool: any client the answers above broke is removed by now.
      await app.db.pool.query('select 1');
      // A clean business answer must not cost a new Postgres backend on the next request.
      expect(dropped).toBe(0);
    } finally {
      app.db.pool.off('remove', onRemove);
    }
  });
});

describe('cancellation before commit', () => {
  const T = 'cancel';

  it('rejects with CancelledBeforeCommit and touches nothing when the signal already fired', async () => {
    await stock(T, 'sku-x', 10);
    const events = await db.eventCount();
    const err = await rejection(
      app.inventory.reserve(caller(T, AbortSignal.abort()), reserveInput('res-pre', [['sku-x', 'wh-1', 1]])),
    );
    expect(err).toBeInstanceOf(CancelledBeforeCommit);
    const err2 = await rejection(
      app.inventory.receive(caller(T, AbortSignal.abort()), receiveInput('mv-pre', 'sku-x', 'wh-1', 1)),
    );
    expect(err2).toBeInstanceOf(CancelledBeforeCommit);
    expect(await db.eventCount()).toBe(events);
    expect(await db.idempotencyRows(T, 'reservation', 'res-pre')).toBe(0);
    expect(await db.idempotencyRows(T, 'movement', 'mv-pre')).toBe(0);
  });

  it('commits nothing when the caller gives up while the command waits for a row lock', async () => {
    const holder = new pg.Client({ connectionString: app.db.url });
    await holder.connect();
    try {
      const events = await db.eventCount();
      await holder.query('begin');
      await holder.query(
        `select 1 from streams where tenant_id = $1 and kind = 'stock_item' and sku = 'sku-x' and location_id = 'wh-1' for update`,
        [T],
      );
      const controller = new AbortController();
      const outcome = rejection(
        app.inventory.reserve(caller(T, controller.signal), reserveInput('res-wait', [['sku-x', 'wh-1', 2]])),
      );
      await eventually(
        async () => {
          const { rows } = await holder.query(
            `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          );
          expect(rows[0].n).toBe(1);
        },
        1_500,
        10,
      );
      controller.abort();
      await holder.query('rollback');

      expect(await outcome).toBeInstanceOf(CancelledBeforeCommit);
      expect(await db.eventCount()).toBe(events);
      expect(await db.idempotencyRows(T, 'reservation', 'res-wait')).toBe(0);
      expect(await db.reservationVersion(T, 'res-wait')).toBeNull();
      expect(await levelsOf(T, 'sku-x')).toMatchObject({ reserved: 0, available: 10 });
      // Nothing remembers the cancelled id: a retry goes through.
      expect(
        accepted(await app.inventory.reserve(caller(T), reserveInput('res-wait', [['sku-x', 'wh-1', 2]]))).status,
      ).toBe('PENDING');
    } finally {
      await holder.end();
    }
  });
});

describe('lost demand', () => {
  const T = 'demand';

  it('records an INSUFFICIENT_STOCK refusal in demand_refusals, outside the refusing transaction', async () => {
    await stock(T, 'sku-scarce', 2, 'store-7');
    const counted = app.refusals.total();
    const r = refused(
      await app.inventory.reserve(
        caller(T),
        reserveInput('res-greedy', [['sku-scarce', 'store-7', 5]], { channel: 'POS' }),
      ),
    );
    expect(r).toMatchObject({ reason: 'INSUFFICIENT_STOCK', requested: 5, available: 2 });
    expect(app.refusals.total()).toBe(counted + 1);

    await eventually(async () => {
      const { rows } = await app.db.pool.query(
        'select tenant_id, channel, reservation_id, sku, location_id, requested::int, available::int from demand_refusals where tenant_id = $1',
        [T],
      );
      expect(rows).toEqual([
        {
          tenant_id: T,
          channel: 'POS',
          reservation_id: 'res-greedy',
          sku: 'sku-scarce',
          location_id: 'store-7',
          requested: 5,
          available: 2,
        },
      ]);
    }, 2_000);
  });
});

describe('input validation', () => {
  const T = 'validation';
  const good = (): ReserveInput => reserveInput('res-valid', [['sku-v', 'wh-1', 1]]);
  const line = (sku: string, quantity = 1) => ({ sku, locationId: 'wh-1', quantity, unit: '' });

  const cases: [rule: string, input: ReserveInput, field: string][] = [
    ['empty reservation id', { ...good(), reservationId: '' }, 'reservation_id'],
    ['zero quantity', { ...good(), lines: [line('sku-v', 0)] }, 'lines[0].quantity'],
    ['negative quantity', { ...good(), lines: [line('sku-v', -2)] }, 'lines[0].quantity'],
    ['NaN quantity', { ...good(), lines: [line('sku-v', Number.NaN)] }, 'lines[0].quantity'],
    ['fractional quantity', { ...good(), lines: [line('sku-v', 1.5)] }, 'lines[0].quantity'],
    ['more than 100 lines', { ...good(), lines: Array.from({ length: 101 }, (_, i) => line(`sku-${i}`)) }, 'lines'],
    ['no lines', { ...good(), lines: [] }, 'lines'],
    ['a repeated sku and location', { ...good(), lines: [line('sku-v'), line('sku-w'), line('sku-v', 2)] }, 'lines[2]'],
    ['a unit the product does not have', { ...good(), lines: [{ ...line('sku-v'), unit: 'pallet' }] }, 'lines[0].unit'],
    ['a missing channel', { ...good(), channel: null }, 'channel'],
    ['a zero ttl', { ...good(), ttlMs: 0 }, 'ttl'],
    ['a negative ttl', { ...good(), ttlMs: -1_000 }, 'ttl'],
  ];

  it.each(cases)('rejects %s as INVALID_ARGUMENT naming the field', async (_rule, input, field) => {
    await stock(T, 'sku-v', 5);
    const events = await db.eventCount();
    const err = await rejection(app.inventory.reserve(caller(T), input));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((err as AppError).details.violations?.map((v) => v.field)).toContain(field);
    expect(await db.eventCount()).toBe(events);
    expect(await db.idempotencyRows(T, 'reservation', input.reservationId)).toBe(0);
  });

  it("rejects a unit the product does not have, naming the field and listing the product's units", async () => {
    await stock(T, 'sku-v', 5);
    const events = await db.eventCount();
    const err = await rejection(
      app.inventory.reserve(caller(T), {
        ...good(),
        reservationId: 'res-pallet',
        lines: [{ ...line('sku-v'), unit: 'pallet' }],
      }),
    );
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const violation = (err as AppError).details.violations?.find((v) => v.field === 'lines[0].unit');
    expect(violation?.description).toContain('"pallet"');
    expect(violation?.description).toContain('"unit"');
    expect(violation?.description).toContain('"box"');
    expect(await db.eventCount()).toBe(events);
  });

  it('rejects a receipt of a non-positive or fractional quantity as INVALID_ARGUMENT naming the field', async () => {
    for (const quantity of [0, -1, 0.5, Number.NaN]) {
      const err = await rejection(app.inventory.receive(caller(T), receiveInput('mv-bad', 'sku-v', 'wh-1', quantity)));
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', details: { violations: [{ field: 'quantity' }] } });
    }
  });

  it('accepts the well-formed request the invalid ones were derived from', async () => {
    await stock(T, 'sku-v', 5);
    expect(accepted(await app.inventory.reserve(caller(T), good())).status).toBe('PENDING');
  });
});
