// The whole stock model through a running core and a grpc-js client: catalog and
// units, the location tree and region sums, every movement, tenant policies, and
// the permission table row by row.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/tokens.js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { AdjustmentKind, QualityOutcome } from '../../gen/stockmind/inventory/v1/movements_pb.js';
import { AvailabilityStatus, Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { createGrpcClient, errorDetails } from '../../loadtest/runner/grpcClient.js';
import { startCoreProcess } from '../../loadtest/bench/processes.js';
import { rejection } from '../support/app.js';
import { eventually } from '../support/wait.js';
import { createTestDatabase } from '../support/db.js';
import type { ServiceError } from '@grpc/grpc-js';
import type { Claims } from '../../platform/auth/tokens.js';
import type { CoreHandle } from '../../loadtest/bench/processes.js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { TestDatabase } from '../support/db.js';

const m = InventoryService.method;
const T = 'model';
const DAY = 24 * 3600 * 1000;

let db: TestDatabase;
let core: CoreHandle;
let admin: GrpcClient;
const clients: GrpcClient[] = [];

const clientFor = async (claims: Partial<Omit<Claims, 'tenant'>>, tenant = T): Promise<GrpcClient> => {
  const token = await tokenFor(tenant, { sub: 'tester', ...claims });
  const c = createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token });
  clients.push(c);
  return c;
};

const failure = (call: Promise<unknown>) => rejection(call) as Promise<ServiceError>;
const reasonOf = (err: unknown) => errorDetails(err).errorInfo?.reason;
const fieldsOf = (err: unknown) => errorDetails(err).badRequest?.fieldViolations.map((v) => v.field) ?? [];

const level = async (sku: string, locationId: string) => {
  const { levels } = await admin.unary(m.queryStock, { keys: [{ sku, locationId }], consistency: Consistency.STRONG });
  const l = levels[0];
  return {
    onHand: l?.onHand,
    reserved: l?.reserved,
    committed: l?.committed,
    inTransit: l?.inTransit,
    quarantined: l?.quarantined,
    available: l?.available,
  };
};

const receive = (movementId: string, sku: string, locationId: string, quantity: bigint, unit = '') =>
  admin.unary(m.receiveStock, { movementId, sku, locationId, quantity, unit });

beforeAll(async () => {
  db = await createTestDatabase('e2e_model', 2);
  core = await startCoreProcess({
    DATABASE_URL: db.url,
    STOCKMIND_PG_POOL_MAX: '4',
    STOCKMIND_NAMESPACE: `e2e-model-${randomBytes(3).toString('hex')}`,
  });
  admin = await clientFor({ roles: ['admin'], sub: 'alice' });
  // A region tree: EU > FR > (W1, S1, S2); EU > DE > W2.
  for (const [locationId, kind, parentId] of [
    ['EU', LocationKind.REGION, ''],
    ['FR', LocationKind.REGION, 'EU'],
    ['DE', LocationKind.REGION, 'EU'],
    ['W1', LocationKind.WAREHOUSE, 'FR'],
    ['S1', LocationKind.STORE, 'FR'],
    ['S2', LocationKind.STORE, 'FR'],
    ['W2', LocationKind.WAREHOUSE, 'DE'],
  ] as const) {
    await admin.unary(m.upsertLocation, { locationId, name: locationId, kind, parentId });
  }
  for (const sku of ['SKU-A', 'SKU-B', 'SKU-C', 'SKU-D', 'SKU-E', 'SKU-F']) {
    await admin.unary(m.upsertProduct, {
      sku,
      name: `Product ${sku}`,
      baseUnit: 'unit',
      units: [
        { name: 'box', baseUnits: 12n },
        { name: 'pallet', baseUnits: 480n },
      ],
    });
  }
});

afterAll(async () => {
  for (const c of clients) c.close();
  await core?.stop();
  await db?.drop();
});

describe('catalog and units', () => {
  it('versions a product on every upsert and reads it back with its units', async () => {
    const first = await admin.unary(m.upsertProduct, {
      sku: 'SKU-V',
      name: 'Vase',
      baseUnit: 'unit',
      units: [{ name: 'box', baseUnits: 6n }],
    });
    const second = await admin.unary(m.upsertProduct, {
      sku: 'SKU-V',
      name: 'Vase, blue',
      baseUnit: 'unit',
      units: [{ name: 'box', baseUnits: 6n }],
    });
    expect([first.product?.version, second.product?.version]).toEqual([1n, 2n]);
    const { product } = await admin.unary(m.getProduct, { sku: 'SKU-V' });
    expect(product).toMatchObject({ name: 'Vase, blue', baseUnit: 'unit', units: [{ name: 'box', baseUnits: 6n }] });
    expect(reasonOf(await failure(admin.unary(m.getProduct, { sku: 'SKU-NONE' })))).toBe('PRODUCT_NOT_FOUND');
  });

  it('names every bad field of a product', async () => {
    const err = await failure(
      admin.unary(m.upsertProduct, {
        sku: 'SKU-X',
        name: '',
        baseUnit: '',
        units: [
          { name: 'box', baseUnits: 1n },
          { name: 'box', baseUnits: 12n },
        ],
      }),
    );
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(fieldsOf(err)).toEqual(
      expect.arrayContaining(['name', 'base_unit', 'units[0].base_units', 'units[1].name']),
    );
  });

  it('lists every product once across pages, in SKU order', async () => {
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await admin.unary(m.listProducts, { pageSize: 4, pageToken });
      seen.push(...page.products.map((p) => p.sku));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(['SKU-A', 'SKU-F']));
    expect(fieldsOf(await failure(admin.unary(m.listProducts, { pageToken: 'nonsense!' })))).toEqual(['page_token']);
  });

  it('converts boxes and pallets to base units, and the event keeps both', async () => {
    const got = await receive('u-rcv-1', 'SKU-A', 'W1', 2n, 'box');
    expect(got.baseQuantity).toBe(24n);
    expect(got.level?.onHand).toBe(24n);
    const pallet = await receive('u-rcv-2', 'SKU-A', 'W1', 1n, 'pallet');
    expect(pallet.level?.onHand).toBe(504n);
    const { rows } = await db.pool
      .query(`select data->>'unit' as unit, (data->>'unitQuantity')::int as uq, (data->>'quantity')::int as q
                                          from events where event_id is not null and data->>'movementId' = 'u-rcv-1'`);
    expect(rows).toEqual([{ unit: 'box', uq: 2, q: 24 }]);
  });

  it('refuses an unknown unit naming the field and the units the product has', async () => {
    const err = await failure(receive('u-rcv-bad', 'SKU-A', 'W1', 1n, 'crate'));
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(fieldsOf(err)).toEqual(['unit']);
    expect(err.details).toMatch(/"box"/);
    const res = await failure(
      admin.unary(m.reserveStock, {
        reservationId: 'u-res-bad',
        channel: Channel.ECOMMERCE,
        lines: [{ sku: 'SKU-A', locationId: 'W1', quantity: 1n, unit: 'crate' }],
      }),
    );
    expect(fieldsOf(res)).toEqual(['lines[0].unit']);
  });

  it('answers NOT_FOUND to writes on an unknown SKU or location, and zeros to reads', async () => {
    expect(reasonOf(await failure(receive('u-nf-1', 'SKU-NOPE', 'W1', 1n)))).toBe('PRODUCT_NOT_FOUND');
    expect(reasonOf(await failure(receive('u-nf-2', 'SKU-A', 'NOWHERE', 1n)))).toBe('LOCATION_NOT_FOUND');
    const { levels } = await admin.unary(m.queryStock, { keys: [{ sku: 'SKU-NOPE', locationId: 'NOWHERE' }] });
    expect(levels[0]).toMatchObject({ onHand: 0n, available: 0n, status: AvailabilityStatus.OUT_OF_STOCK });
  });

  it('refuses stock at a region: it is held at warehouses and stores', async () => {
    expect(fieldsOf(await failure(receive('u-region', 'SKU-A', 'FR', 1n)))).toEqual(['location_id']);
  });
});

describe('the location tree', () => {
  it('lists parents before children, whole or from a node', async () => {
    const all = (await admin.unary(m.listLocations, {})).locations.map((l) => l.locationId);
    expect(all.indexOf('EU')).toBeLessThan(all.indexOf('FR'));
    expect(all.indexOf('FR')).toBeLessThan(all.indexOf('W1'));
    const fr = (await admin.unary(m.listLocations, { rootId: 'FR' })).locations.map((l) => l.locationId);
    expect(fr.sort()).toEqual(['FR', 'S1', 'S2', 'W1']);
  });

  it('refuses a parent that is not a region, a missing parent and a cycle', async () => {
    expect(
      fieldsOf(
        await failure(
          admin.unary(m.upsertLocation, { locationId: 'S9', name: 'S9', kind: LocationKind.STORE, parentId: 'W1' }),
        ),
      ),
    ).toEqual(['parent_id']);
    expect(
      fieldsOf(
        await failure(
          admin.unary(m.upsertLocation, { locationId: 'S9', name: 'S9', kind: LocationKind.STORE, parentId: 'ASIA' }),
        ),
      ),
    ).toEqual(['parent_id']);
    const cycle = await failure(
      admin.unary(m.upsertLocation, { locationId: 'EU', name: 'EU', kind: LocationKind.REGION, parentId: 'FR' }),
    );
    expect(cycle.details).toMatch(/cycle/);
  });

  it('refuses to watch a region, naming the field and saying what to watch instead', async () => {
    const token = await tokenFor(T, { sub: 'w' });
    const sessions = new Http2SessionManager(core.url);
    const watcher = createClient(
      InventoryService,
      createGrpcTransport({ baseUrl: core.url, sessionManager: sessions }),
    );
    try {
      const err = await rejection(
        (async () => {
          for await (const first of watcher.watchStock(
            { locationId: 'FR' },
            { headers: { authorization: `Bearer ${token}` } },
          ))
            return first;
          return undefined;
        })(),
      );
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.InvalidArgument);
      expect((err as ConnectError).rawMessage).toMatch(/location_id: "FR" is a region/);
    } finally {
      sessions.abort();
    }
  });

  it('sums a region over every warehouse and store below it, and says so', async () => {
    await receive('r-1', 'SKU-B', 'W1', 10n);
    await receive('r-2', 'SKU-B', 'S1', 3n);
    await receive('r-3', 'SKU-B', 'W2', 7n);
    for (const consistency of [Consistency.STRONG, Consistency.EVENTUAL]) {
      const { levels } = await admin.unary(m.queryStock, {
        keys: [
          { sku: 'SKU-B', locationId: 'FR' },
          { sku: 'SKU-B', locationId: 'EU' },
          { sku: 'SKU-B', locationId: 'W1' },
        ],
        consistency,
      });
      expect(levels.map((l) => [l.locationId, l.onHand, l.aggregated, l.locationCount])).toEqual([
        ['FR', 13n, true, 3],
        ['EU', 20n, true, 4],
        ['W1', 10n, false, 1],
      ]);
    }
  });
});

describe('movements', () => {
  it('records a POS sale, refuses one beyond available, and replays a retried sale once', async () => {
    await receive('s-rcv', 'SKU-C', 'S1', 5n);
    await admin.unary(m.reserveStock, {
      reservationId: 's-hold',
      channel: Channel.ECOMMERCE,
      lines: [{ sku: 'SKU-C', locationId: 'S1', quantity: 2n }],
    });
    const sale = { movementId: 's-sale-1', sku: 'SKU-C', locationId: 'S1', quantity: 2n, reference: 'TICKET-1' };
    const first = await admin.unary(m.recordSale, sale);
    const again = await admin.unary(m.recordSale, sale);
    expect(first.result?.level).toMatchObject({ onHand: 3n, reserved: 2n, available: 1n });
    expect(again.result?.level?.onHand).toBe(3n);
    const over = await failure(admin.unary(m.recordSale, { ...sale, movementId: 's-sale-2' }));
    expect(over.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(errorDetails(over).errorInfo?.metadata).toMatchObject({ requested: '2', available: '1' });
    expect(reasonOf(await failure(admin.unary(m.recordSale, { ...sale, quantity: 1n })))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    const { rows } = await db.pool.query(
      `select metadata->>'channel' as channel, metadata->>'operator' as operator from events where data->>'movementId' = 's-sale-1'`,
    );
    expect(rows).toEqual([{ channel: 'POS', operator: 'alice' }]);
    // The refused sale is lost demand, recorded outside the transaction as the sale it was.
    await eventually(async () => {
      const lost = await db.pool.query(
        `select command, reservation_id, channel, requested::int from demand_refusals where reservation_id = 's-sale-2'`,
      );
      expect(lost.rows).toEqual([{ command: 'sale', reservation_id: 's-sale-2', channel: 'POS', requested: 2 }]);
    });
  });

  it('records a cycle count as the difference, damage and shrinkage as losses, and a sensor delta', async () => {
    await receive('a-rcv', 'SKU-D', 'S2', 20n);
    const count = await admin.unary(m.adjustStock, {
      movementId: 'a-count',
      sku: 'SKU-D',
      locationId: 'S2',
      kind: AdjustmentKind.CYCLE_COUNT,
      quantity: 17n,
      reason: 'weekly count',
    });
    expect([count.difference, count.result?.level?.onHand]).toEqual([-3n, 17n]);
    const same = await admin.unary(m.adjustStock, {
      movementId: 'a-count-2',
      sku: 'SKU-D',
      locationId: 'S2',
      kind: AdjustmentKind.CYCLE_COUNT,
      quantity: 17n,
    });
    expect(same.difference).toBe(0n);
    const damage = await admin.unary(m.adjustStock, {
      movementId: 'a-dmg',
      sku: 'SKU-D',
      locationId: 'S2',
      kind: AdjustmentKind.DAMAGE,
      quantity: 2n,
      reason: 'broken',
    });
    const shrink = await admin.unary(m.adjustStock, {
      movementId: 'a-shr',
      sku: 'SKU-D',
      locationId: 'S2',
      kind: AdjustmentKind.SHRINKAGE,
      quantity: 1n,
    });
    const sensor = await admin.unary(m.adjustStock, {
      movementId: 'a-sns',
      sku: 'SKU-D',
      locationId: 'S2',
      kind: AdjustmentKind.SENSOR,
      delta: -2n,
      reason: 'SENSOR',
    });
    expect([damage.difference, shrink.difference, sensor.difference, sensor.result?.level?.onHand]).toEqual([
      -2n,
      -1n,
      -2n,
      12n,
    ]);
    const tooMuch = await failure(
      admin.unary(m.adjustStock, {
        movementId: 'a-dmg-2',
        sku: 'SKU-D',
        locationId: 'S2',
        kind: AdjustmentKind.DAMAGE,
        quantity: 13n,
      }),
    );
    expect(reasonOf(tooMuch)).toBe('NOT_ENOUGH_ON_HAND');
    const bad = await failure(
      admin.unary(m.adjustStock, {
        movementId: 'a-bad',
        sku: 'SKU-D',
        locationId: 'S2',
        kind: AdjustmentKind.SENSOR,
        quantity: 2n,
      }),
    );
    expect(fieldsOf(bad)).toEqual(expect.arrayContaining(['quantity', 'delta']));
  });

  it('moves supplier inbound from in transit to on hand, partially, against its expectation', async () => {
    await admin.unary(m.expectStock, {
      movementId: 'asn-1',
      sku: 'SKU-E',
      locationId: 'W2',
      quantity: 1n,
      unit: 'box',
      reference: 'PO-9',
    });
    expect(await level('SKU-E', 'W2')).toMatchObject({ onHand: 0n, inTransit: 12n });
    await admin.unary(m.receiveStock, {
      movementId: 'asn-1-r1',
      sku: 'SKU-E',
      locationId: 'W2',
      quantity: 5n,
      expectedMovementId: 'asn-1',
    });
    expect(await level('SKU-E', 'W2')).toMatchObject({ onHand: 5n, inTransit: 7n });
    await admin.unary(m.receiveStock, {
      movementId: 'asn-1-r2',
      sku: 'SKU-E',
      locationId: 'W2',
      quantity: 8n,
      expectedMovementId: 'asn-1',
    });
    expect(await level('SKU-E', 'W2')).toMatchObject({ onHand: 13n, inTransit: 0n });
    const closed = await failure(
      admin.unary(m.receiveStock, {
        movementId: 'asn-1-r3',
        sku: 'SKU-E',
        locationId: 'W2',
        quantity: 1n,
        expectedMovementId: 'asn-1',
      }),
    );
    expect(reasonOf(closed)).toBe('EXPECTATION_NOT_OPEN');
  });

  it('dispatches a transfer, receives it with a shortage recorded, and refuses a second receipt', async () => {
    await receive('t-rcv', 'SKU-F', 'W1', 10n);
    const out = await admin.unary(m.dispatchTransfer, {
      transferId: 'TR-1',
      sku: 'SKU-F',
      fromLocationId: 'W1',
      toLocationId: 'S1',
      quantity: 6n,
      reference: 'truck 4',
    });
    expect(out.source).toMatchObject({ onHand: 4n });
    expect(out.destination).toMatchObject({ onHand: 0n, inTransit: 6n });
    const got = await admin.unary(m.receiveTransfer, {
      movementId: 'TR-1-in',
      transferId: 'TR-1',
      quantity: 5n,
      reason: 'one crushed',
    });
    expect(got.shortage).toBe(1n);
    expect(await level('SKU-F', 'S1')).toMatchObject({ onHand: 5n, inTransit: 0n });
    expect(
      reasonOf(
        await failure(admin.unary(m.receiveTransfer, { movementId: 'TR-1-in-2', transferId: 'TR-1', quantity: 1n })),
      ),
    ).toBe('TRANSFER_NOT_IN_TRANSIT');
    expect(
      reasonOf(
        await failure(admin.unary(m.receiveTransfer, { movementId: 'TR-X-in', transferId: 'TR-X', quantity: 1n })),
      ),
    ).toBe('TRANSFER_NOT_FOUND');
    const over = await failure(
      admin.unary(m.dispatchTransfer, {
        transferId: 'TR-2',
        sku: 'SKU-F',
        fromLocationId: 'W1',
        toLocationId: 'S1',
        quantity: 5n,
      }),
    );
    expect(reasonOf(over)).toBe('INSUFFICIENT_STOCK');
    const { rows } = await db.pool.query(
      `select data->>'shortage' as shortage from events where event_type = 'stockmind.stock.transfer_received.v1'`,
    );
    expect(rows).toEqual([{ shortage: '1' }]);
  });

  it('quarantines a return until its quality check passes or writes it off, and refuses one outside the window', async () => {
    const soldAt = timestampFromMs(Date.now() - 3 * DAY);
    const ret = await admin.unary(m.recordReturn, {
      movementId: 'rt-1',
      sku: 'SKU-A',
      locationId: 'S2',
      quantity: 3n,
      soldAt,
      reference: 'ORDER-7',
      channel: Channel.ECOMMERCE,
    });
    expect(ret.quarantined).toBe(true);
    expect(await level('SKU-A', 'S2')).toMatchObject({ onHand: 0n, quarantined: 3n, available: 0n });
    await admin.unary(m.completeQualityCheck, {
      movementId: 'qc-1',
      sku: 'SKU-A',
      locationId: 'S2',
      quantity: 2n,
      outcome: QualityOutcome.PASSED,
    });
    await admin.unary(m.completeQualityCheck, {
      movementId: 'qc-2',
      sku: 'SKU-A',
      locationId: 'S2',
      quantity: 1n,
      outcome: QualityOutcome.FAILED,
      reason: 'torn',
    });
    expect(await level('SKU-A', 'S2')).toMatchObject({ onHand: 2n, quarantined: 0n, available: 2n });
    expect(
      reasonOf(
        await failure(
          admin.unary(m.completeQualityCheck, {
            movementId: 'qc-3',
            sku: 'SKU-A',
            locationId: 'S2',
            quantity: 1n,
            outcome: QualityOutcome.PASSED,
          }),
        ),
      ),
    ).toBe('NOT_ENOUGH_QUARANTINED');
    const late = await failure(
      admin.unary(m.recordReturn, {
        movementId: 'rt-2',
        sku: 'SKU-A',
        locationId: 'S2',
        quantity: 1n,
        soldAt: timestampFromMs(Date.now() - 40 * DAY),
      }),
    );
    expect(reasonOf(late)).toBe('RETURN_WINDOW_CLOSED');
    expect(
      fieldsOf(
        await failure(
          admin.unary(m.recordReturn, { movementId: 'rt-3', sku: 'SKU-A', locationId: 'S2', quantity: 1n }),
        ),
      ),
    ).toEqual(['sold_at']);
  });
});

describe('tenant policies', () => {
  it("caps the hold a caller asks for at the policy's maximum for its channel, refusing above it and applying nothing", async () => {
    const tenant = 'ttl-cap';
    const admin = await clientFor({ roles: ['admin'] }, tenant);
    const web = await clientFor({ roles: ['channel_service'], channels: ['ECOMMERCE'] }, tenant);
    const { policy } = await admin.unary(m.getTenantPolicy, {});
    expect(
      [policy?.ecommerceMaxTtl, policy?.marketplaceMaxTtl, policy?.b2bMaxTtl, policy?.posMaxTtl].map((d) => d?.seconds),
    ).toEqual([2n * 3600n, 24n * 3600n, 7n * 24n * 3600n, 3600n]);
    await admin.unary(m.upsertLocation, { locationId: 'WT', name: 'WT', kind: LocationKind.WAREHOUSE });
    await admin.unary(m.upsertProduct, { sku: 'SKU-T', name: 'T', baseUnit: 'unit' });
    await admin.unary(m.receiveStock, { movementId: 'cap-rcv', sku: 'SKU-T', locationId: 'WT', quantity: 5n });
    const hold = (reservationId: string, seconds: bigint) => ({
      reservationId,
      channel: Channel.ECOMMERCE,
      lines: [{ sku: 'SKU-T', locationId: 'WT', quantity: 1n }],
      ttl: { seconds },
    });

    const month = await failure(web.unary(m.reserveStock, hold('cap-1', 30n * 24n * 3600n)));
    expect([month.code, reasonOf(month), fieldsOf(month)]).toEqual([
      GrpcStatus.INVALID_ARGUMENT,
      'TTL_ABOVE_POLICY_MAX',
      ['ttl'],
    ]);
    expect(month.details).toContain('at most 7200 s (2 h) for CHANNEL_ECOMMERCE');
    expect((await failure(web.unary(m.getReservation, { reservationId: 'cap-1' }))).code).toBe(GrpcStatus.NOT_FOUND);
    const hour = (await web.unary(m.reserveStock, hold('cap-2', 3600n))).reservation;
    expect(Number((hour?.expiresAt?.seconds ?? 0n) - (hour?.createdAt?.seconds ?? 0n))).toBe(3600);

    await admin.unary(m.updateTenantPolicy, { expectedVersion: 0n, policy: { ecommerceMaxTtl: { seconds: 1800n } } });
    expect(reasonOf(await failure(web.unary(m.reserveStock, hold('cap-3', 3600n))))).toBe('TTL_ABOVE_POLICY_MAX');
    // A retry of the hold taken before the change still answers it.
    expect((await web.unary(m.reserveStock, hold('cap-2', 3600n))).reservation?.version).toBe(hour?.version);
    const below = await failure(
      admin.unary(m.updateTenantPolicy, { expectedVersion: 1n, policy: { ecommerceMaxTtl: { seconds: 60n } } }),
    );
    expect(fieldsOf(below)).toEqual(['policy.max_reservation_ttl_seconds.ECOMMERCE']);
  });

  it('starts from the defaults, updates at the expected version only, and records the version on events', async () => {
    const policies = await clientFor({ roles: ['admin'] }, 'policy-tenant');
    const start = await policies.unary(m.getTenantPolicy, {});
    expect(start.version).toBe(0n);
    expect(start.policy).toMatchObject({
      lowStockThreshold: 5n,
      returnWindowDays: 30,
      qualityCheckRequired: true,
      timeZone: 'UTC',
    });
    expect(start.policy?.b2bTtl?.seconds).toBe(48n * 3600n);
    const next = await policies.unary(m.updateTenantPolicy, {
      expectedVersion: 0n,
      policy: {
        qualityCheckRequired: false,
        lowStockThreshold: 2n,
        replenishment: [{ sku: 'SKU-P', locationId: 'WP', reorderPoint: 5n, targetLevel: 50n }],
      },
    });
    expect(next.version).toBe(1n);
    expect(next.policy).toMatchObject({ qualityCheckRequired: false, lowStockThreshold: 2n, returnWindowDays: 30 });
    const stale = await failure(policies.unary(m.updateTenantPolicy, { expectedVersion: 0n, policy: {} }));
    expect([stale.code, reasonOf(stale)]).toEqual([GrpcStatus.ABORTED, 'POLICY_VERSION_CONFLICT']);
    const bad = await failure(
      policies.unary(m.updateTenantPolicy, {
        expectedVersion: 1n,
        policy: {
          timeZone: 'Mars/Base',
          replenishment: [{ sku: 'SKU-P', locationId: 'WP', reorderPoint: 9n, targetLevel: 3n }],
        },
      }),
    );
    expect(fieldsOf(bad)).toEqual(expect.arrayContaining(['policy.time_zone', 'policy.replenishment[0].target_level']));

    // Without a quality check, a return is sellable at once; its event records policy version 1.
    await policies.unary(m.upsertLocation, { locationId: 'WP', name: 'WP', kind: LocationKind.WAREHOUSE });
    await policies.unary(m.upsertProduct, { sku: 'SKU-P', name: 'P', baseUnit: 'unit' });
    const ret = await policies.unary(m.recordReturn, {
      movementId: 'p-rt',
      sku: 'SKU-P',
      locationId: 'WP',
      quantity: 2n,
      soldAt: timestampFromMs(Date.now() - DAY),
    });
    expect(ret.quarantined).toBe(false);
    expect(ret.result?.level).toMatchObject({ onHand: 2n, status: AvailabilityStatus.LOW_STOCK });
    const { rows } = await db.pool.query(
      `select (metadata->>'policyVersion')::int as v from events where data->>'movementId' = 'p-rt'`,
    );
    expect(rows).toEqual([{ v: 1 }]);
  });
});

// One test per row of the permission table in the README.
describe('the permission table', () => {
  const code = async (call: Promise<unknown>) =>
    call.then(
      () => 'OK',
      (e: ServiceError) => GrpcStatus[e.code],
    );

  it('admin: everything, every channel and location', async () => {
    const a = await clientFor({ roles: ['admin'] });
    expect(
      await code(
        a.unary(m.upsertProduct, {
          sku: 'SKU-A',
          name: 'A',
          baseUnit: 'unit',
          units: [
            { name: 'box', baseUnits: 12n },
            { name: 'pallet', baseUnits: 480n },
          ],
        }),
      ),
    ).toBe('OK');
    expect(
      await code(a.unary(m.recordSale, { movementId: 'perm-a-sale', sku: 'SKU-A', locationId: 'W1', quantity: 1n })),
    ).toBe('OK');
    expect(await code(a.unary(m.getTenantPolicy, {}))).toBe('OK');
  });

  it('channel_service: reserves and reads for its channels; no movements, catalog or policy', async () => {
    const web = await clientFor({ roles: ['channel_service'], channels: ['ECOMMERCE'] });
    expect(
      await code(
        web.unary(m.reserveStock, {
          reservationId: 'perm-web',
          channel: Channel.ECOMMERCE,
          lines: [{ sku: 'SKU-A', locationId: 'W1', quantity: 1n }],
        }),
      ),
    ).toBe('OK');
    expect(
      await code(
        web.unary(m.reserveStock, {
          reservationId: 'perm-web-b2b',
          channel: Channel.B2B,
          lines: [{ sku: 'SKU-A', locationId: 'W1', quantity: 1n }],
        }),
      ),
    ).toBe('PERMISSION_DENIED');
    expect(
      await code(
        web.unary(m.recordSale, { movementId: 'perm-web-sale', sku: 'SKU-A', locationId: 'W1', quantity: 1n }),
      ),
    ).toBe('PERMISSION_DENIED');
    expect(await code(web.unary(m.upsertProduct, { sku: 'SKU-Z', name: 'Z', baseUnit: 'unit' }))).toBe(
      'PERMISSION_DENIED',
    );
    expect(await code(web.unary(m.getTenantPolicy, {}))).toBe('PERMISSION_DENIED');
    expect(await code(web.unary(m.queryStock, { keys: [{ sku: 'SKU-A', locationId: 'W1' }] }))).toBe('OK');
  });

  it('store_staff: moves stock at its own stores only; no catalog or policy changes', async () => {
    const staff = await clientFor({ roles: ['store_staff'], locations: ['S1'] });
    await receive('perm-s-rcv', 'SKU-B', 'S1', 5n);
    expect(
      await code(
        staff.unary(m.recordSale, { movementId: 'perm-s-sale', sku: 'SKU-B', locationId: 'S1', quantity: 1n }),
      ),
    ).toBe('OK');
    expect(
      await code(
        staff.unary(m.recordSale, { movementId: 'perm-s-sale-2', sku: 'SKU-B', locationId: 'S2', quantity: 1n }),
      ),
    ).toBe('PERMISSION_DENIED');
    expect(
      await code(
        staff.unary(m.adjustStock, {
          movementId: 'perm-s-cnt',
          sku: 'SKU-B',
          locationId: 'S1',
          kind: AdjustmentKind.CYCLE_COUNT,
          quantity: 4n,
        }),
      ),
    ).toBe('OK');
    expect(await code(staff.unary(m.upsertLocation, { locationId: 'S7', name: 'S7', kind: LocationKind.STORE }))).toBe(
      'PERMISSION_DENIED',
    );
    expect(await code(staff.unary(m.updateTenantPolicy, { policy: {} }))).toBe('PERMISSION_DENIED');
    expect(await code(staff.unary(m.queryStock, { keys: [{ sku: 'SKU-B', locationId: 'W2' }] }))).toBe(
      'PERMISSION_DENIED',
    );
  });

  it('auditor: reads everything, the policy included; changes nothing', async () => {
    const auditor = await clientFor({ roles: ['auditor'] });
    expect(await code(auditor.unary(m.queryStock, { keys: [{ sku: 'SKU-B', locationId: 'W2' }] }))).toBe('OK');
    expect(await code(auditor.unary(m.getTenantPolicy, {}))).toBe('OK');
    expect(await code(auditor.unary(m.listLocations, {}))).toBe('OK');
    expect(
      await code(
        auditor.unary(m.recordSale, { movementId: 'perm-au-sale', sku: 'SKU-B', locationId: 'S1', quantity: 1n }),
      ),
    ).toBe('PERMISSION_DENIED');
    expect(await code(auditor.unary(m.updateTenantPolicy, { policy: {} }))).toBe('PERMISSION_DENIED');
    expect(await code(auditor.unary(m.upsertProduct, { sku: 'SKU-Z', name: 'Z', baseUnit: 'unit' }))).toBe(
      'PERMISSION_DENIED',
    );
  });
});
