// The reservation lifecycle through the use cases, on a real Postgres: what
// each transition does to the stock levels, which transitions are refused, and
// that repeating one already done appends nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../platform/errors.js';
import {
  accepted,
  caller,
  probes,
  receiveInput,
  refused,
  rejection,
  reserveInput,
  startApp,
} from '../../../test/support/app.js';
import { registerCatalog } from '../../../test/support/catalog.js';
import type { AppHarness } from '../../../test/support/app.js';
import { sleep } from '../../../test/support/wait.js';

const T = 'lifecycle';
const me = caller(T);

let app: AppHarness;
let db: ReturnType<typeof probes>;

beforeAll(async () => {
  app = await startApp('app_lifecycle');
  db = probes(app.db);
  // Every SKU this file moves stock of (`placed` names them sku-<name>); the unknown-key read test
  // relies on sku-never-seen and wh-never-seen staying unregistered.
  const placedNames = ['rel-ful', 'ful-pending', 'rel-pending', 'rel-confirmed', 'repeat-a', 'repeat-b'];
  await registerCatalog(app.inventory, T, {
    skus: ['sku-life', 'sku-late', 'sku-known', 'sku-low', ...placedNames.map((n) => `sku-${n}`)],
    locations: ['wh-1'],
  });
});
afterAll(async () => {
  await app?.close();
});

const level = async (sku: string, loc = 'wh-1') => {
  const [view] = await app.inventory.queryStock(me, [{ sku, locationId: loc }]);
  if (view === undefined) throw new Error('queryStock answered no view');
  return { ...view.levels, available: view.available, status: view.status, version: view.version };
};

/** Receives `onHand` units of a fresh SKU and places a pending reservation of `held` of them. */
const placed = async (name: string, onHand: number, held: number) => {
  const sku = `sku-${name}`;
  await app.inventory.receive(me, receiveInput(`mv-${name}`, sku, 'wh-1', onHand));
  const view = accepted(await app.inventory.reserve(me, reserveInput(`res-${name}`, [[sku, 'wh-1', held]])));
  return { sku, id: view.reservationId };
};

describe('reservation lifecycle', () => {
  it('moves held units from available to reserved, then committed, then out of on hand when fulfilled', async () => {
    const sku = 'sku-life';
    const received = await app.inventory.receive(me, receiveInput('mv-life', sku, 'wh-1', 10));
    expect(received.level.levels.onHand).toBe(10);

    const res = accepted(await app.inventory.reserve(me, reserveInput('res-life', [[sku, 'wh-1', 3]])));
    expect(res.status).toBe('PENDING');
    expect(await level(sku)).toMatchObject({ onHand: 10, reserved: 3, committed: 0, available: 7 });

    const confirmed = accepted(await app.inventory.confirm(me, 'res-life', 'order-1'));
    expect(confirmed.status).toBe('CONFIRMED');
    expect(await level(sku)).toMatchObject({ onHand: 10, reserved: 0, committed: 3, available: 7 });

    const fulfilled = accepted(await app.inventory.fulfil(me, 'res-life', 'ship-1'));
    expect(fulfilled).toMatchObject({ status: 'FULFILLED', shipmentRef: 'ship-1' });
    expect(await level(sku)).toMatchObject({ onHand: 7, reserved: 0, committed: 0, available: 7 });
    expect((await app.inventory.getReservation(me, 'res-life')).status).toBe('FULFILLED');
  });

  it('refuses to release a fulfilled reservation (RESERVATION_FULFILLED) and leaves stock as shipped', async () => {
    const { sku, id } = await placed('rel-ful', 10, 3);
    accepted(await app.inventory.confirm(me, id, ''));
    accepted(await app.inventory.fulfil(me, id, 'ship'));
    const before = await db.eventCount();

    expect(refused(await app.inventory.release(me, id, 'changed mind'))).toMatchObject({
      reason: 'RESERVATION_FULFILLED',
    });
    expect(await db.eventCount()).toBe(before);
    expect(await level(sku)).toMatchObject({ onHand: 7, reserved: 0, committed: 0 });
  });

  it('refuses to fulfil a reservation that was never confirmed (RESERVATION_NOT_CONFIRMED)', async () => {
    const { sku, id } = await placed('ful-pending', 10, 3);
    expect(refused(await app.inventory.fulfil(me, id, 'ship'))).toMatchObject({ reason: 'RESERVATION_NOT_CONFIRMED' });
    expect(await level(sku)).toMatchObject({ onHand: 10, reserved: 3, committed: 0 });
  });

  it('releasing a pending reservation returns its units to available', async () => {
    const { sku, id } = await placed('rel-pending', 10, 4);
    expect(await level(sku)).toMatchObject({ reserved: 4, available: 6 });

    const released = accepted(await app.inventory.release(me, id, 'CUSTOMER_CANCELLED'));
    expect(released).toMatchObject({ status: 'RELEASED', releaseReason: 'CUSTOMER_CANCELLED' });
    expect(await level(sku)).toMatchObject({ onHand: 10, reserved: 0, committed: 0, available: 10 });
  });

  it('releasing a confirmed reservation takes its units from committed', async () => {
    const { sku, id } = await placed('rel-confirmed', 10, 4);
    accepted(await app.inventory.confirm(me, id, ''));
    expect(await level(sku)).toMatchObject({ reserved: 0, committed: 4, available: 6 });

    accepted(await app.inventory.release(me, id, 'ORDER_CANCELLED'));
    expect(await level(sku)).toMatchObject({ onHand: 10, reserved: 0, committed: 0, available: 10 });
  });

  it('repeating confirm, fulfil or release already done succeeds and appends nothing', async () => {
    const a = await placed('repeat-a', 10, 2);
    const first = accepted(await app.inventory.confirm(me, a.id, 'order-a'));
    let events = await db.eventCount();
    let version = await db.reservationVersion(T, a.id);
    const stockVersion = await db.stockVersion(T, a.sku, 'wh-1');

    const again = accepted(await app.inventory.confirm(me, a.id, 'order-a'));
    expect(again).toMatchObject({ status: 'CONFIRMED', version: first.version });
    expect(await db.eventCount()).toBe(events);
    expect(await db.reservationVersion(T, a.id)).toBe(version);
    expect(await db.stockVersion(T, a.sku, 'wh-1')).toBe(stockVersion);

    accepted(await app.inventory.fulfil(me, a.id, 'ship-a'));
    events = await db.eventCount();
    version = await db.reservationVersion(T, a.id);
    expect(accepted(await app.inventory.fulfil(me, a.id, 'ship-a')).status).toBe('FULFILLED');
    // Confirming a fulfilled one is also a transition already done.
    expect(accepted(await app.inventory.confirm(me, a.id, 'order-a')).status).toBe('FULFILLED');
    expect(await db.eventCount()).toBe(events);
    expect(await db.reservationVersion(T, a.id)).toBe(version);
    expect(await level(a.sku)).toMatchObject({ onHand: 8, committed: 0 });

    const b = await placed('repeat-b', 10, 2);
    accepted(await app.inventory.release(me, b.id, 'first'));
    events = await db.eventCount();
    version = await db.reservationVersion(T, b.id);
    expect(accepted(await app.inventory.release(me, b.id, 'second'))).toMatchObject({
      status: 'RELEASED',
      releaseReason: 'first',
    });
    expect(await db.eventCount()).toBe(events);
    expect(await db.reservationVersion(T, b.id)).toBe(version);
    expect(await level(b.sku)).toMatchObject({ reserved: 0, available: 10 });
  });

  it('refuses to confirm after expires_at (RESERVATION_EXPIRED) even before the expiry loop ran', async () => {
    const sku = 'sku-late';
    await app.inventory.receive(me, receiveInput('mv-late', sku, 'wh-1', 5));
    accepted(await app.inventory.reserve(me, reserveInput('res-late', [[sku, 'wh-1', 2]], { ttlMs: 50 })));
    await sleep(120); // past the 50 ms TTL: the deadline itself is what is tested

    expect(refused(await app.inventory.confirm(me, 'res-late', ''))).toMatchObject({ reason: 'RESERVATION_EXPIRED' });
    // No loop runs in this file: the refusal came from the deadline itself, and nothing moved.
    expect((await app.inventory.getReservation(me, 'res-late')).status).toBe('PENDING');
    expect(await level(sku)).toMatchObject({ reserved: 2, committed: 0 });
  });

  it('answers NOT_FOUND for a reservation that does not exist', async () => {
    for (const call of [
      () => app.inventory.confirm(me, 'res-nope', ''),
      () => app.inventory.release(me, 'res-nope', ''),
      () => app.inventory.fulfil(me, 'res-nope', ''),
      () => app.inventory.getReservation(me, 'res-nope'),
    ]) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(await db.reservationVersion(T, 'res-nope')).toBeNull();
  });

  it('answers zeros, OUT_OF_STOCK and version 0 for an unknown SKU or location', async () => {
    await app.inventory.receive(me, receiveInput('mv-known', 'sku-known', 'wh-1', 9));
    const views = await app.inventory.queryStock(me, [
      { sku: 'sku-never-seen', locationId: 'wh-1' },
      { sku: 'sku-known', locationId: 'wh-never-seen' },
      { sku: 'sku-known', locationId: 'wh-1' },
    ]);
    for (const v of views.slice(0, 2)) {
      expect(v).toMatchObject({
        levels: { onHand: 0, reserved: 0, committed: 0, inTransit: 0, quarantined: 0 },
        available: 0,
        status: 'OUT_OF_STOCK',
        version: 0,
      });
    }
    expect(views[2]).toMatchObject({ sku: 'sku-known', available: 9, status: 'IN_STOCK', version: 1 });
  });

  it('reports LOW_STOCK at 5 or fewer available units and OUT_OF_STOCK at none', async () => {
    const sku = 'sku-low';
    await app.inventory.receive(me, receiveInput('mv-low', sku, 'wh-1', 6));
    expect(await level(sku)).toMatchObject({ available: 6, status: 'IN_STOCK' });
    accepted(await app.inventory.reserve(me, reserveInput('res-low-1', [[sku, 'wh-1', 1]])));
    expect(await level(sku)).toMatchObject({ available: 5, status: 'LOW_STOCK' });
    accepted(await app.inventory.reserve(me, reserveInput('res-low-2', [[sku, 'wh-1', 4]])));
    expect(await level(sku)).toMatchObject({ available: 1, status: 'LOW_STOCK' });
    accepted(await app.inventory.reserve(me, reserveInput('res-low-3', [[sku, 'wh-1', 1]])));
    expect(await level(sku)).toMatchObject({ available: 0, status: 'OUT_OF_STOCK' });
  });
});
