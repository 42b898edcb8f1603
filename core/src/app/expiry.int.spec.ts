// Expiry is the core's job: due reservations are claimed from an indexed table
// with SKIP LOCKED, decided by the database clock. These specs run the real
// loop (and several at once) and race confirm against expiry at the deadline.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startExpiryLoop } from './expiry.js';
import {
  accepted,
  caller,
  probes,
  receiveInput,
  reserveInput,
  startApp,
  levelsOf as stockLevels,
} from '../../../test/support/app.js';
import type { ExpiryLoop } from './expiry.js';
import { registerCatalog } from '../../../test/support/catalog.js';
import type { AppHarness } from '../../../test/support/app.js';
import type { Outcome } from './outcome.js';
import type { ReservationView } from './views.js';
import { eventually, sleep } from '../../../test/support/wait.js';

const PLACED = 'stockmind.reservations.reservation_placed.v1';
const CONFIRMED = 'stockmind.reservations.reservation_confirmed.v1';
const EXPIRED = 'stockmind.reservations.reservation_expired.v1';
const RELEASED_STOCK = 'stockmind.stock.reserved_stock_released.v1';

let app: AppHarness;
let db: ReturnType<typeof probes>;
const loops: ExpiryLoop[] = [];

beforeAll(async () => {
  app = await startApp('app_expiry', { poolMax: 24 });
  db = probes(app.db);
});
afterEach(async () => {
  await Promise.all(loops.splice(0).map((l) => l.stop()));
  vi.restoreAllMocks();
});
afterAll(async () => {
  await app?.close();
});

const levelsOf = (tenant: string, sku: string) => stockLevels(app.inventory, tenant, sku);

const dueRows = async (tenant: string): Promise<number> =>
  Number(
    (await app.db.pool.query('select count(*) as n from reservation_expiry where tenant_id = $1', [tenant])).rows[0].n,
  );

const startLoop = (): ExpiryLoop => {
  const loop = startExpiryLoop(app.inventory, 100, app.log);
  loops.push(loop);
  return loop;
};

describe('expiry loop', () => {
  it('expires pending reservations after their TTL and makes their units available again', async () => {
    const T = 'exp-basic';
    const me = caller(T);
    await registerCatalog(app.inventory, T, { skus: ['sku-e'], locations: ['wh-1'] });
    await app.inventory.receive(me, receiveInput('mv-1', 'sku-e', 'wh-1', 10));
    accepted(await app.inventory.reserve(me, reserveInput('res-e1', [['sku-e', 'wh-1', 3]], { ttlMs: 300 })));
    accepted(await app.inventory.reserve(me, reserveInput('res-e2', [['sku-e', 'wh-1', 2]], { ttlMs: 300 })));
    expect(await levelsOf(T, 'sku-e')).toMatchObject({ reserved: 5, available: 5 });
    const warn = vi.spyOn(app.log, 'warn');

    startLoop();
    await eventually(async () => {
      expect((await app.inventory.getReservation(me, 'res-e1')).status).toBe('EXPIRED');
      expect((await app.inventory.getReservation(me, 'res-e2')).status).toBe('EXPIRED');
    }, 2_000);

    expect(await levelsOf(T, 'sku-e')).toMatchObject({ onHand: 10, reserved: 0, committed: 0, available: 10 });
    expect((await db.eventsOfType(EXPIRED, T)).map((e) => e.data.reservationId).sort()).toEqual(['res-e1', 'res-e2']);
    const released = await db.eventsOfType(RELEASED_STOCK, T);
    expect(released.map((e) => [e.data.reservationId, e.data.reason, e.data.from, e.data.quantity]).sort()).toEqual([
      ['res-e1', 'EXPIRED', 'RESERVED', 3],
      ['res-e2', 'EXPIRED', 'RESERVED', 2],
    ]);
    expect(await dueRows(T)).toBe(0);
    expect(warn).not.toHaveBeenCalled();
  });

  it('expires each of 60 due reservations exactly once with three loops running at once', async () => {
    const T = 'exp-three';
    const me = caller(T);
    const skus = ['sku-p', 'sku-q', 'sku-r'];
    await registerCatalog(app.inventory, T, { skus, locations: ['wh-1'] });
    for (const sku of skus) await app.inventory.receive(me, receiveInput(`mv-${sku}`, sku, 'wh-1', 40));
    const ids = Array.from({ length: 60 }, (_, i) => `res-3x-${i}`);
    await Promise.all(
      ids.map(async (id, i) =>
        accepted(
          await app.inventory.reserve(me, reserveInput(id, [[skus[i % 3] as string, 'wh-1', 1]], { ttlMs: 300 })),
        ),
      ),
    );
    const warn = vi.spyOn(app.log, 'warn');
    const error = vi.spyOn(app.log, 'error');

    startLoop();
    startLoop();
    startLoop();
    await eventually(async () => expect(await dueRows(T)).toBe(0), 3_000);
    await Promise.all(loops.splice(0).map((l) => l.stop()));

    const expired = await db.eventsOfType(EXPIRED, T);
    expect(expired).toHaveLength(60);
    expect(new Set(expired.map((e) => e.data.reservationId)).size).toBe(60);
    expect(await db.eventsOfType(RELEASED_STOCK, T)).toHaveLength(60);
    for (const sku of skus) expect(await levelsOf(T, sku)).toMatchObject({ onHand: 40, reserved: 0, available: 40 });
    for (const id of ids) expect(await db.reservationEventTypes(T, id)).toEqual([PLACED, EXPIRED]);
    expect(warn).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });

  it('leaves a confirmed reservation confirmed, with its committed units, when its expiry row comes due', async () => {
    const T = 'exp-confirmed';
    const me = caller(T);
    await registerCatalog(app.inventory, T, { skus: ['sku-c'], locations: ['wh-1'] });
    await app.inventory.receive(me, receiveInput('mv-c', 'sku-c', 'wh-1', 10));
    accepted(await app.inventory.reserve(me, reserveInput('res-c', [['sku-c', 'wh-1', 3]], { ttlMs: 300 })));
    accepted(await app.inventory.confirm(me, 'res-c', 'order-c'));
    const warn = vi.spyOn(app.log, 'warn');

    startLoop();
    // The loop claimed (and dropped) the due row: it has looked at this reservation.
    await eventually(async () => expect(await dueRows(T)).toBe(0), 2_000);

    expect((await app.inventory.getReservation(me, 'res-c')).status).toBe('CONFIRMED');
    expect(await levelsOf(T, 'sku-c')).toMatchObject({ onHand: 10, reserved: 0, committed: 3, available: 7 });
    expect(await db.reservationEventTypes(T, 'res-c')).toEqual([PLACED, CONFIRMED]);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('confirm racing expiry at the deadline', () => {
  it('ends each reservation either CONFIRMED with committed units or EXPIRED with none, never both', async () => {
    const T = 'exp-race';
    const me = caller(T);
    const n = 30;
    const sku = (i: number) => `sku-race-${i}`;
    await registerCatalog(app.inventory, T, { skus: Array.from({ length: n }, (_, i) => sku(i)), locations: ['wh-1'] });
    for (let i = 0; i < n; i++) await app.inventory.receive(me, receiveInput(`mv-race-${i}`, sku(i), 'wh-1', 5));
    const placed: ReservationView[] = [];
    for (let i = 0; i < n; i++) {
      placed.push(
        accepted(await app.inventory.reserve(me, reserveInput(`res-race-${i}`, [[sku(i), 'wh-1', 2]], { ttlMs: 700 }))),
      );
    }

    // Fire confirm and expireNextDue together around each deadline, from a few ms early to a few ms late.
    const confirms = await Promise.all(
      placed.map(
        (r, i) =>
          new Promise<Outcome<ReservationView>>((resolve, reject) => {
            const at = Date.parse(r.expiresAt) + ((i % 15) - 11) * 5;
            setTimeout(
              () => {
                const confirm = app.inventory.confirm(me, r.reservationId, '');
                Promise.all([confirm, app.inventory.expireNextDue('test:race', `race-${i}`)]).then(
                  ([c]) => resolve(c),
                  reject,
                );
              },
              Math.max(0, at - Date.now()),
            );
          }),
      ),
    );
    // Reservations no expiry call reached in time become due now: drain them as the loop would.
    const last = Math.max(...placed.map((r) => Date.parse(r.expiresAt)));
    await sleep(Math.max(0, last - Date.now()) + 20); // a TTL: its time must really pass
    while (await app.inventory.expireNextDue('test:race', 'drain'));

    for (const [i, r] of placed.entries()) {
      const status = (await app.inventory.getReservation(me, r.reservationId)).status;
      const types = await db.reservationEventTypes(T, r.reservationId);
      const levels = await levelsOf(T, sku(i));
      const confirm = confirms[i];
      if (status === 'CONFIRMED') {
        expect(confirm?.ok).toBe(true);
        expect(types).toEqual([PLACED, CONFIRMED]);
        expect(levels).toMatchObject({ onHand: 5, reserved: 0, committed: 2, available: 3 });
      } else {
        expect(status).toBe('EXPIRED');
        expect(confirm).toMatchObject({ ok: false, refusal: { reason: 'RESERVATION_EXPIRED' } });
        expect(types).toEqual([PLACED, EXPIRED]);
        expect(levels).toMatchObject({ onHand: 5, reserved: 0, committed: 0, available: 5 });
      }
    }
    expect(await dueRows(T)).toBe(0);
  });
});
