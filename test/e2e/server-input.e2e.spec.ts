// One running core, real clients: bad input named field by field, the catalog, network and units
// a write needs, idempotent retries and the default holds.
import { beforeAll, describe, expect, it } from 'vitest';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { ReservationStatus } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { AvailabilityStatus, Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { errorDetails } from '../../loadtest/runner/grpcClient.js';
import { coreForSpec, failure } from '../support/core.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { tokenFor } from '../support/tokens.js';
import type { ServiceError } from '@grpc/grpc-js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { Catalog } from '../support/core.js';

const m = InventoryService.method;

/**
 * The products and locations each tenant moves stock of below, registered before any write (writes to
 * an unknown SKU or location answer NOT_FOUND). The 'catalog' tenant registers its own, in its tests.
 */
const CATALOG: Catalog = {
  acme: { skus: ['SKU-BAD', 'SKU-BAD2', 'X', 'SKU-IDEM-RCV', 'SKU-TTL', 'SKU-IDEM'], locations: ['W1'] },
};

describe('the core server', () => {
  const h = coreForSpec('e2e_server_input', CATALOG);
  const grpcClient = (tok?: string, at?: string) => h().grpcClient(tok, at);

  describe('bad input', () => {
    let admin: GrpcClient;
    beforeAll(async () => {
      admin = grpcClient(await tokenFor('acme'));
    });

    const violations = (err: ServiceError) =>
      Object.fromEntries((errorDetails(err).badRequest?.fieldViolations ?? []).map((v) => [v.field, v.description]));

    it('names the line whose quantity is not a positive whole number', async () => {
      const err = await failure(
        admin.unary(m.reserveStock, {
          reservationId: 'bad-1',
          channel: Channel.ECOMMERCE,
          lines: [
            { sku: 'SKU-BAD', locationId: 'W1', quantity: 0n },
            { sku: 'SKU-BAD2', locationId: 'W1', quantity: -3n },
          ],
        }),
      );
      expect(err.code).toBe(3);
      expect(Object.keys(violations(err)).sort()).toEqual(['lines[0].quantity', 'lines[1].quantity']);
    });

    it('lists every violation of a request at once', async () => {
      // Units are checked against the product's units (next describe), which a line without a sku has none of.
      const err = await failure(
        admin.unary(m.reserveStock, {
          reservationId: 'has space',
          channel: Channel.UNSPECIFIED,
          lines: [
            { sku: '', locationId: 'W1', quantity: 1n },
            { sku: 'X', locationId: 'W1', quantity: 1n },
            { sku: 'X', locationId: 'W1', quantity: 2n },
          ],
        }),
      );
      expect(err.code).toBe(3);
      expect(Object.keys(violations(err)).sort()).toEqual(['channel', 'lines[0].sku', 'lines[2]', 'reservation_id']);
    });

    it('refuses a quantity beyond what a number can hold instead of rounding it', async () => {
      const err = await failure(
        admin.unary(m.receiveStock, { movementId: 'bad-big', sku: 'SKU-BAD', locationId: 'W1', quantity: 2n ** 62n }),
      );
      expect(err.code).toBe(3);
      expect(Object.keys(violations(err))).toEqual(['quantity']);
    });

    it('refuses empty reservations and empty queries', async () => {
      expect(
        Object.keys(
          violations(
            await failure(admin.unary(m.reserveStock, { reservationId: 'bad-2', channel: Channel.POS, lines: [] })),
          ),
        ),
      ).toEqual(['lines']);
      expect(Object.keys(violations(await failure(admin.unary(m.queryStock, { keys: [] }))))).toEqual(['keys']);
      expect(Object.keys(violations(await failure(admin.unary(m.getReservation, { reservationId: '' }))))).toEqual([
        'reservation_id',
      ]);
    });

    it('answers NOT_FOUND for an unknown reservation', async () => {
      const err = await failure(admin.unary(m.getReservation, { reservationId: 'never-placed' }));
      expect(err.code).toBe(5);
      expect(errorDetails(err).errorInfo?.reason).toBe('RESERVATION_NOT_FOUND');
    });
  });

  describe('catalog, network and units', () => {
    // Its own tenant: nothing registered unless a test registers it.
    const tenant = 'catalog';
    let admin: GrpcClient;
    const stockEvents = async (): Promise<number> =>
      Number(
        (await h().db.pool.query<{ n: string }>('select count(*) as n from events where tenant_id = $1', [tenant]))
          .rows[0]?.n,
      );
    const violations = (err: ServiceError) =>
      Object.fromEntries((errorDetails(err).badRequest?.fieldViolations ?? []).map((v) => [v.field, v.description]));
    const ZEROS = {
      onHand: 0n,
      reserved: 0n,
      committed: 0n,
      available: 0n,
      inTransit: 0n,
      quarantined: 0n,
      version: 0n,
      status: AvailabilityStatus.OUT_OF_STOCK,
    };

    beforeAll(async () => {
      admin = grpcClient(await tokenFor(tenant));
      await registerCatalogRpc(admin, { skus: ['SKU-CAT'], locations: ['W-CAT'] });
      await registerCatalogRpc(admin, {
        skus: ['SKU-BOX', 'SKU-BOX-2'],
        locations: ['W-CAT-2'],
        units: [{ name: 'box', baseUnits: 12 }],
      });
    });

    it('answers NOT_FOUND PRODUCT_NOT_FOUND to a write for an SKU not in the catalog, appends nothing, and still reads it as zeros', async () => {
      const key = { sku: 'SKU-UNREGISTERED', locationId: 'W-CAT' };
      const events = await stockEvents();
      const receipt = await failure(admin.unary(m.receiveStock, { movementId: 'cat-rcv-1', ...key, quantity: 5n }));
      expect(receipt.code).toBe(5);
      expect(errorDetails(receipt).errorInfo).toMatchObject({
        reason: 'PRODUCT_NOT_FOUND',
        metadata: { sku: 'SKU-UNREGISTERED' },
      });
      const hold = await failure(
        admin.unary(m.reserveStock, {
          reservationId: 'cat-res-1',
          channel: Channel.ECOMMERCE,
          lines: [{ ...key, quantity: 1n }],
        }),
      );
      expect(hold.code).toBe(5);
      expect(errorDetails(hold).errorInfo?.reason).toBe('PRODUCT_NOT_FOUND');
      const sale = await failure(admin.unary(m.recordSale, { movementId: 'cat-sale-1', ...key, quantity: 1n }));
      expect(sale.code).toBe(5);
      expect(errorDetails(sale).errorInfo?.reason).toBe('PRODUCT_NOT_FOUND');
      expect(await stockEvents()).toBe(events);
      expect((await failure(admin.unary(m.getReservation, { reservationId: 'cat-res-1' }))).code).toBe(5);

      for (const consistency of [Consistency.STRONG, Consistency.EVENTUAL]) {
        const [level] = (await admin.unary(m.queryStock, { keys: [key], consistency })).levels;
        expect(level).toMatchObject({ ...key, ...ZEROS });
      }
    });

    it('answers NOT_FOUND LOCATION_NOT_FOUND to a write at a location not registered, appends nothing, and still reads it as zeros', async () => {
      const key = { sku: 'SKU-CAT', locationId: 'W-UNREGISTERED' };
      const events = await stockEvents();
      const receipt = await failure(admin.unary(m.receiveStock, { movementId: 'cat-rcv-2', ...key, quantity: 5n }));
      expect(receipt.code).toBe(5);
      expect(errorDetails(receipt).errorInfo).toMatchObject({
        reason: 'LOCATION_NOT_FOUND',
        metadata: { location_id: 'W-UNREGISTERED' },
      });
      const hold = await failure(
        admin.unary(m.reserveStock, {
          reservationId: 'cat-res-2',
          channel: Channel.ECOMMERCE,
          lines: [{ ...key, quantity: 1n }],
        }),
      );
      expect(hold.code).toBe(5);
      expect(errorDetails(hold).errorInfo?.reason).toBe('LOCATION_NOT_FOUND');
      expect(await stockEvents()).toBe(events);

      for (const consistency of [Consistency.STRONG, Consistency.EVENTUAL]) {
        const [level] = (await admin.unary(m.queryStock, { keys: [key], consistency })).levels;
        expect(level).toMatchObject({ ...key, ...ZEROS });
      }
    });

    it('accepts the same writes once the product and the location are registered', async () => {
      await registerCatalogRpc(admin, { skus: ['SKU-LATE'], locations: ['W-LATE'] });
      const key = { sku: 'SKU-LATE', locationId: 'W-LATE' };
      const received = await admin.unary(m.receiveStock, { movementId: 'cat-rcv-3', ...key, quantity: 5n });
      expect(received.level).toMatchObject({ onHand: 5n, version: 1n });
      const { reservation } = await admin.unary(m.reserveStock, {
        reservationId: 'cat-res-3',
        channel: Channel.ECOMMERCE,
        lines: [{ ...key, quantity: 2n }],
      });
      expect(reservation?.status).toBe(ReservationStatus.PENDING);
    });

    it('holds 24 base units for a reservation of 2 boxes (box = 12) and shows the line in boxes and in base units', async () => {
      const key = { sku: 'SKU-BOX', locationId: 'W-CAT' };
      const received = await admin.unary(m.receiveStock, { movementId: 'cat-box-rcv', ...key, quantity: 30n });
      expect(received.baseQuantity).toBe(30n);
      const { reservation } = await admin.unary(m.reserveStock, {
        reservationId: 'cat-box-1',
        channel: Channel.ECOMMERCE,
        lines: [{ ...key, quantity: 2n, unit: 'box' }],
      });
      expect(reservation?.lines).toHaveLength(1);
      expect(reservation?.lines[0]).toMatchObject({ ...key, quantity: 2n, unit: 'box', baseQuantity: 24n });
      const [level] = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels;
      expect(level).toMatchObject({ onHand: 30n, reserved: 24n, available: 6n });
      // Read back, the reservation says the same.
      const read = await admin.unary(m.getReservation, { reservationId: 'cat-box-1' });
      expect(read.reservation?.lines[0]).toMatchObject({ quantity: 2n, unit: 'box', baseQuantity: 24n });
      // The base unit by name is the same as no unit: 6 units left, a seventh is refused.
      const more = await failure(
        admin.unary(m.reserveStock, {
          reservationId: 'cat-box-2',
          channel: Channel.ECOMMERCE,
          lines: [{ ...key, quantity: 7n, unit: 'unit' }],
        }),
      );
      expect(more.code).toBe(9);
      expect(errorDetails(more).errorInfo?.metadata).toMatchObject({ requested: '7', available: '6' });
      // One box more than what is left is refused in base units.
      const box = await failure(
        admin.unary(m.reserveStock, {
          reservationId: 'cat-box-3',
          channel: Channel.ECOMMERCE,
          lines: [{ ...key, quantity: 1n, unit: 'box' }],
        }),
      );
      expect(errorDetails(box).errorInfo?.metadata).toMatchObject({ requested: '12', available: '6' });
    });

    it("rejects a unit the product does not have as INVALID_ARGUMENT naming the field and listing the product's units", async () => {
      const key = { sku: 'SKU-BOX', locationId: 'W-CAT' };
      const events = await stockEvents();
      const hold = await failure(
        admin.unary(m.reserveStock, {
          reservationId: 'cat-unit-1',
          channel: Channel.ECOMMERCE,
          lines: [{ ...key, quantity: 1n, unit: 'pallet' }],
        }),
      );
      expect(hold.code).toBe(3);
      const held = violations(hold);
      expect(Object.keys(held)).toEqual(['lines[0].unit']);
      expect(held['lines[0].unit']).toContain('"pallet"');
      for (const unit of ['"unit"', '"box"']) expect(held['lines[0].unit']).toContain(unit);

      const receipt = await failure(
        admin.unary(m.receiveStock, { movementId: 'cat-unit-2', ...key, quantity: 1n, unit: 'crate' }),
      );
      expect(receipt.code).toBe(3);
      const received = violations(receipt);
      expect(Object.keys(received)).toEqual(['unit']);
      for (const unit of ['"crate"', '"unit"', '"box"']) expect(received.unit).toContain(unit);
      expect(await stockEvents()).toBe(events);
    });

    it('lists every unit violation of a reservation at once, one per line', async () => {
      const err = await failure(
        admin.unary(m.reserveStock, {
          reservationId: 'cat-unit-3',
          channel: Channel.ECOMMERCE,
          lines: [
            { sku: 'SKU-BOX', locationId: 'W-CAT', quantity: 1n, unit: 'crate' },
            { sku: 'SKU-BOX-2', locationId: 'W-CAT', quantity: 1n, unit: 'box' },
            { sku: 'SKU-BOX-2', locationId: 'W-CAT-2', quantity: 1n, unit: 'pallet' },
          ],
        }),
      );
      expect(err.code).toBe(3);
      expect(Object.keys(violations(err)).sort()).toEqual(['lines[0].unit', 'lines[2].unit']);
    });
  });

  describe('idempotency and policy defaults', () => {
    let admin: GrpcClient;
    beforeAll(async () => {
      admin = grpcClient(await tokenFor('acme'));
    });

    it('counts a repeated receipt once and refuses the same movement id for another receipt', async () => {
      const receipt = {
        movementId: 'idem-po-7',
        sku: 'SKU-IDEM-RCV',
        locationId: 'W1',
        quantity: 4n,
        reference: 'PO-7',
      };
      const first = await admin.unary(m.receiveStock, receipt);
      const again = await admin.unary(m.receiveStock, receipt);
      expect(again.level?.onHand).toBe(4n);
      expect(again.level?.version).toBe(first.level?.version);
      expect((await failure(admin.unary(m.receiveStock, { ...receipt, quantity: 40n }))).code).toBe(6);
      const [level] = (
        await admin.unary(m.queryStock, {
          keys: [{ sku: 'SKU-IDEM-RCV', locationId: 'W1' }],
          consistency: Consistency.STRONG,
        })
      ).levels;
      expect(level?.onHand).toBe(4n);
    });

    it('holds B2B reservations for 48 hours and e-commerce ones for 15 minutes by default', async () => {
      await admin.unary(m.receiveStock, { movementId: 'ttl-rcv', sku: 'SKU-TTL', locationId: 'W1', quantity: 5n });
      const hold = async (reservationId: string, channel: Channel) => {
        const { reservation } = await admin.unary(m.reserveStock, {
          reservationId,
          channel,
          lines: [{ sku: 'SKU-TTL', locationId: 'W1', quantity: 1n }],
        });
        return Number(reservation!.expiresAt!.seconds - reservation!.createdAt!.seconds);
      };
      expect(await hold('ttl-b2b', Channel.B2B)).toBe(48 * 3600);
      expect(await hold('ttl-web', Channel.ECOMMERCE)).toBe(15 * 60);
      expect(await hold('ttl-pos', Channel.POS)).toBe(5 * 60);
    });

    it('answers the original reservation on a retry and ALREADY_EXISTS for the same id with another payload', async () => {
      await admin.unary(m.receiveStock, { movementId: 'idem-rcv', sku: 'SKU-IDEM', locationId: 'W1', quantity: 3n });
      const req = {
        reservationId: 'idem-1',
        channel: Channel.ECOMMERCE,
        lines: [{ sku: 'SKU-IDEM', locationId: 'W1', quantity: 1n }],
      };
      const first = await admin.unary(m.reserveStock, req);
      const again = await admin.unary(m.reserveStock, req);
      expect(again.reservation).toEqual(first.reservation);
      const other = await failure(
        admin.unary(m.reserveStock, { ...req, lines: [{ sku: 'SKU-IDEM', locationId: 'W1', quantity: 2n }] }),
      );
      expect(other.code).toBe(6);
      const [level] = (
        await admin.unary(m.queryStock, {
          keys: [{ sku: 'SKU-IDEM', locationId: 'W1' }],
          consistency: Consistency.STRONG,
        })
      ).levels;
      expect(level?.reserved).toBe(1n);
    });
  });
});
