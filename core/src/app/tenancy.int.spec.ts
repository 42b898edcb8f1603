// Tenancy through the use cases: every read and write is scoped by the
// caller's tenant, and per-tenant policies (data, versioned) change what that
// tenant sees and holds, and only that tenant.
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
  levelsOf as stockLevels,
} from '../../../test/support/app.js';
import { registerCatalog } from '../../../test/support/catalog.js';
import type { AppHarness } from '../../../test/support/app.js';

const PLACED = 'stockmind.reservations.reservation_placed.v1';
const RESERVED = 'stockmind.stock.stock_reserved.v1';

let app: AppHarness;
let db: ReturnType<typeof probes>;

beforeAll(async () => {
  // No policy cache: a policy row written by a test takes effect on the next command.
  app = await startApp('app_tenancy', { policyCacheMs: 0 });
  db = probes(app.db);
  // The catalog is per tenant: tenant-b registers sku-t in its own test.
  await registerCatalog(app.inventory, 'tenant-a', { skus: ['sku-t'], locations: ['wh-1'] });
  for (const t of ['policy-p', 'policy-q'])
    await registerCatalog(app.inventory, t, { skus: ['sku-pol', 'sku-b2b'], locations: ['wh-1'] });
});
afterAll(async () => {
  await app?.close();
});

const levelsOf = (tenant: string, sku: string, loc = 'wh-1') => stockLevels(app.inventory, tenant, sku, loc);

describe('tenant isolation', () => {
  const A = 'tenant-a';
  const B = 'tenant-b';

  it("shows another tenant's stock as zeros and OUT_OF_STOCK", async () => {
    await app.inventory.receive(caller(A), receiveInput('mv-shared', 'sku-t', 'wh-1', 10));
    accepted(await app.inventory.reserve(caller(A), reserveInput('res-shared', [['sku-t', 'wh-1', 3]])));
    expect(await levelsOf(A, 'sku-t')).toMatchObject({ onHand: 10, reserved: 3, available: 7, version: 2 });

    expect(await levelsOf(B, 'sku-t')).toEqual({
      onHand: 0,
      reserved: 0,
      committed: 0,
      inTransit: 0,
      quarantined: 0,
      available: 0,
      status: 'OUT_OF_STOCK',
      version: 0,
    });
  });

  it("answers NOT_FOUND when a tenant confirms, releases, fulfils or reads another tenant's reservation", async () => {
    const events = await db.eventCount();
    for (const call of [
      () => app.inventory.confirm(caller(B), 'res-shared', ''),
      () => app.inventory.release(caller(B), 'res-shared', 'not yours'),
      () => app.inventory.fulfil(caller(B), 'res-shared', ''),
      () => app.inventory.getReservation(caller(B), 'res-shared'),
    ]) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(await db.eventCount()).toBe(events);
    expect((await app.inventory.getReservation(caller(A), 'res-shared')).status).toBe('PENDING');
    expect(await levelsOf(A, 'sku-t')).toMatchObject({ reserved: 3, committed: 0 });
  });

  it("lets a tenant use the same movement and reservation ids as another tenant without replaying the other's answer", async () => {
    // Another tenant's catalog is not this tenant's: sku-t is unknown to B until B registers it.
    expect(
      await rejection(app.inventory.receive(caller(B), receiveInput('mv-shared', 'sku-t', 'wh-1', 4))),
    ).toMatchObject({
      code: 'NOT_FOUND',
      details: { reason: 'PRODUCT_NOT_FOUND' },
    });
    await registerCatalog(app.inventory, B, { skus: ['sku-t'], locations: ['wh-1'] });
    const received = await app.inventory.receive(caller(B), receiveInput('mv-shared', 'sku-t', 'wh-1', 4));
    expect(received.level.levels.onHand).toBe(4);
    const held = accepted(await app.inventory.reserve(caller(B), reserveInput('res-shared', [['sku-t', 'wh-1', 1]])));
    expect(held.lines).toEqual([expect.objectContaining({ quantity: 1 })]);
    expect(await levelsOf(B, 'sku-t')).toMatchObject({ onHand: 4, reserved: 1 });
    expect(await levelsOf(A, 'sku-t')).toMatchObject({ onHand: 10, reserved: 3 });
  });
});

describe('tenant policy', () => {
  const P = 'policy-p';
  const Q = 'policy-q';

  const ttlOf = (v: { createdAt: string; expiresAt: string }) => Date.parse(v.expiresAt) - Date.parse(v.createdAt);

  it("keeps the tenant's safety stock out of available and applies its low-stock threshold, for that tenant only", async () => {
    for (const t of [P, Q]) await app.inventory.receive(caller(t), receiveInput('mv-pol', 'sku-pol', 'wh-1', 10));
    expect(await levelsOf(P, 'sku-pol')).toMatchObject({ available: 10 });

    await app.db.pool.query(
      `insert into tenant_policies (tenant_id, version, policy, updated_by) values ($1, 1, $2, 'test')`,
      [P, JSON.stringify({ safetyStock: 2, lowStockThreshold: 1, reservationTtlSeconds: { B2B: 60 } })],
    );
    expect(await levelsOf(P, 'sku-pol')).toMatchObject({ onHand: 10, available: 8, status: 'IN_STOCK' });
    expect(await levelsOf(Q, 'sku-pol')).toMatchObject({ onHand: 10, available: 10, status: 'IN_STOCK' });

    expect(
      refused(await app.inventory.reserve(caller(P), reserveInput('res-pol-big', [['sku-pol', 'wh-1', 9]]))),
    ).toMatchObject({
      reason: 'INSUFFICIENT_STOCK',
      requested: 9,
      available: 8,
    });
    for (const t of [P, Q])
      accepted(await app.inventory.reserve(caller(t), reserveInput('res-pol', [['sku-pol', 'wh-1', 6]])));
    // Two left: above P's threshold of 1, at or under the default of 5 for Q.
    expect(await levelsOf(P, 'sku-pol')).toMatchObject({ reserved: 6, available: 2, status: 'IN_STOCK' });
    expect(await levelsOf(Q, 'sku-pol')).toMatchObject({ reserved: 6, available: 4, status: 'LOW_STOCK' });
    accepted(await app.inventory.reserve(caller(P), reserveInput('res-pol-2', [['sku-pol', 'wh-1', 1]])));
    expect(await levelsOf(P, 'sku-pol')).toMatchObject({ available: 1, status: 'LOW_STOCK' });
  });

  it("holds B2B reservations for the tenant's TTL and records the policy version on the events", async () => {
    await app.inventory.receive(caller(P), receiveInput('mv-b2b', 'sku-b2b', 'wh-1', 10));
    await app.inventory.receive(caller(Q), receiveInput('mv-b2b', 'sku-b2b', 'wh-1', 10));
    const p = accepted(
      await app.inventory.reserve(caller(P), reserveInput('res-b2b', [['sku-b2b', 'wh-1', 1]], { channel: 'B2B' })),
    );
    const pWeb = accepted(await app.inventory.reserve(caller(P), reserveInput('res-web', [['sku-b2b', 'wh-1', 1]])));
    const q = accepted(
      await app.inventory.reserve(caller(Q), reserveInput('res-b2b', [['sku-b2b', 'wh-1', 1]], { channel: 'B2B' })),
    );
    expect(ttlOf(p)).toBe(60_000);
    expect(ttlOf(pWeb)).toBe(15 * 60_000); // channels the policy does not name keep their defaults
    expect(ttlOf(q)).toBe(48 * 3600_000);

    const placedBy = async (tenant: string, id: string) =>
      (await db.eventsOfType(PLACED, tenant))
        .filter((e) => e.data.reservationId === id)
        .map((e) => e.metadata.policyVersion);
    expect(await placedBy(P, 'res-b2b')).toEqual([1]);
    expect(await placedBy(Q, 'res-b2b')).toEqual([0]);
    const reservedByP = (await db.eventsOfType(RESERVED, P)).filter((e) => e.data.reservationId === 'res-b2b');
    expect(reservedByP.map((e) => e.metadata.policyVersion)).toEqual([1]);
    expect(reservedByP[0]?.metadata).toMatchObject({ channel: 'B2B', producer: 'test', operator: `${P}-tester` });
  });

  it('replays a reservation retried after a policy change instead of answering ALREADY_EXISTS', async () => {
    const input = reserveInput('res-retry', [['sku-b2b', 'wh-1', 1]], { channel: 'B2B' });
    const first = accepted(await app.inventory.reserve(caller(P), input));
    expect(ttlOf(first)).toBe(60_000);
    await app.db.pool.query(
      `insert into tenant_policies (tenant_id, version, policy, updated_by) values ($1, 2, $2, 'test')`,
      [P, JSON.stringify({ safetyStock: 2, lowStockThreshold: 1, reservationTtlSeconds: { B2B: 120 } })],
    );
    const events = await db.eventCount(P);

    expect(accepted(await app.inventory.reserve(caller(P), { ...input }))).toEqual(first);
    expect(await db.eventCount(P)).toBe(events);
    // The new policy is in force for new requests: the retry matched on the request, not the outcome.
    expect(
      ttlOf(
        accepted(
          await app.inventory.reserve(
            caller(P),
            reserveInput('res-after', [['sku-b2b', 'wh-1', 1]], { channel: 'B2B' }),
          ),
        ),
      ),
    ).toBe(120_000);
  });
});
