// One running core, real clients: tokens and roles decide who may do what, and tenants never
// see each other's stock or reservations.
import { beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { ReservationStatus } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { AvailabilityStatus, Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { signToken } from '../../platform/auth/tokens.js';
import { DEVELOPMENT_JWT_SECRET } from '../../platform/config.js';
import { errorDetails } from '../../loadtest/runner/grpcClient.js';
import { coreForSpec, failure } from '../support/core.js';
import { tokenFor } from '../support/tokens.js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { Catalog } from '../support/core.js';

const m = InventoryService.method;

/**
 * The products and locations each tenant moves stock of below, registered before any write (writes to
 * an unknown SKU or location answer NOT_FOUND).
 */
const CATALOG: Catalog = {
  acme: { skus: ['SKU-AUTH'], locations: ['W1', 'W3', 'S1'] },
  'tenant-a': { skus: ['SKU-ISO'], locations: ['W1'] },
  'tenant-b': { skus: ['SKU-ISO', 'SKU-ISO-B'], locations: ['W1'] },
};

describe('the core server', () => {
  const h = coreForSpec('e2e_server_access', CATALOG);
  const grpcClient = (tok?: string, at?: string) => h().grpcClient(tok, at);

  describe('tokens and roles', () => {
    const query = { keys: [{ sku: 'SKU-AUTH', locationId: 'W3' }] };

    beforeAll(async () => {
      await grpcClient(await tokenFor('acme')).unary(m.receiveStock, {
        movementId: 'auth-rcv-1',
        sku: 'SKU-AUTH',
        locationId: 'W3',
        quantity: 10n,
      });
    });

    it('refuses a call without a token', async () => {
      const err = await failure(grpcClient().unary(m.queryStock, query));
      expect(err.code).toBe(16);
    });

    it('refuses a malformed token and a non-bearer authorization', async () => {
      expect((await failure(grpcClient('not-a-jwt').unary(m.queryStock, query))).code).toBe(16);
      expect((await failure(grpcClient('a.b.c').unary(m.queryStock, query))).code).toBe(16);
      const basic = await failure(
        grpcClient().unary(m.queryStock, query, { metadata: { authorization: 'Basic YWRtaW46YWRtaW4=' } }),
      );
      expect(basic.code).toBe(16);
    });

    it('refuses an expired token, saying it expired', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = await new SignJWT({ tenant: 'acme', roles: ['admin'], locations: [], channels: [] })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('late')
        .setIssuer('stockmind')
        .setIssuedAt(now - 120)
        .setExpirationTime(now - 60)
        .sign(new TextEncoder().encode(DEVELOPMENT_JWT_SECRET));
      const err = await failure(grpcClient(expired).unary(m.queryStock, query));
      expect(err.code).toBe(16);
      expect(err.details).toContain('expired');
    });

    it('refuses a token without exp, and one that lives longer than a day, saying why', async () => {
      const now = Math.floor(Date.now() / 1000);
      const sign = (exp: number | null) => {
        const jwt = new SignJWT({ tenant: 'acme', roles: ['admin'], locations: [], channels: [] })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject('forever')
          .setIssuer('stockmind')
          .setIssuedAt(now);
        return (exp === null ? jwt : jwt.setExpirationTime(exp)).sign(new TextEncoder().encode(DEVELOPMENT_JWT_SECRET));
      };
      const never = await failure(grpcClient(await sign(null)).unary(m.queryStock, query));
      expect(never.code).toBe(16);
      expect(never.details).toContain('no expiry (exp)');
      const month = await failure(grpcClient(await sign(now + 30 * 24 * 3600)).unary(m.queryStock, query));
      expect(month.code).toBe(16);
      expect(month.details).toContain('more than the 86400 s allowed');
    });

    it('refuses a token signed with another secret', async () => {
      const forged = await signToken(
        'an-attacker-chosen-secret-of-32-characters!',
        { tenant: 'acme', sub: 'mallory', roles: ['admin'], locations: [], channels: [] },
        600,
      );
      expect((await failure(grpcClient(forged).unary(m.queryStock, query))).code).toBe(16);
    });

    it('refuses an unsigned (alg none) token', async () => {
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ tenant: 'acme', sub: 'x', roles: ['admin'], iss: 'stockmind', iat: now, exp: now + 600 })}.`;
      expect((await failure(grpcClient(unsigned).unary(m.queryStock, query))).code).toBe(16);
    });

    it('lets an auditor read but not receive stock', async () => {
      const auditor = grpcClient(await tokenFor('acme', { roles: ['auditor'] }));
      await expect(auditor.unary(m.queryStock, query)).resolves.toBeDefined();
      const err = await failure(
        auditor.unary(m.receiveStock, { movementId: 'auth-aud-1', sku: 'SKU-AUTH', locationId: 'W3', quantity: 5n }),
      );
      expect(err.code).toBe(7);
      expect(errorDetails(err).errorInfo?.reason).toBe('ROLE_NOT_ALLOWED');
    });

    it('lets a channel service reserve only for the channels in its token (no B2B holds without CHANNEL_B2B)', async () => {
      const web = grpcClient(await tokenFor('acme', { roles: ['channel_service'], channels: ['ECOMMERCE'] }));
      const line = { sku: 'SKU-AUTH', locationId: 'W3', quantity: 1n };
      const b2b = await failure(
        web.unary(m.reserveStock, { reservationId: 'auth-b2b-1', channel: Channel.B2B, lines: [line] }),
      );
      expect(b2b.code).toBe(7);
      expect(errorDetails(b2b).errorInfo?.reason).toBe('OUT_OF_SCOPE');
      const ok = await web.unary(m.reserveStock, {
        reservationId: 'auth-web-1',
        channel: Channel.ECOMMERCE,
        lines: [line],
      });
      expect(ok.reservation?.status).toBe(ReservationStatus.PENDING);
      expect(ok.reservation?.channel).toBe(Channel.ECOMMERCE);

      // The refused B2B hold left nothing behind: the id is still free.
      const admin = grpcClient(await tokenFor('acme'));
      expect((await failure(admin.unary(m.getReservation, { reservationId: 'auth-b2b-1' }))).code).toBe(5);
    });

    it("keeps confirm, release and reads of a reservation within the token's channels and locations", async () => {
      const admin = grpcClient(await tokenFor('acme'));
      await admin.unary(m.reserveStock, {
        reservationId: 'auth-b2b-2',
        channel: Channel.B2B,
        lines: [{ sku: 'SKU-AUTH', locationId: 'W3', quantity: 2n }],
      });
      const web = grpcClient(await tokenFor('acme', { roles: ['channel_service'], channels: ['ECOMMERCE'] }));
      const staff = grpcClient(await tokenFor('acme', { roles: ['store_staff'], locations: ['S1'] }));
      expect(
        (await failure(web.unary(m.confirmReservation, { reservationId: 'auth-b2b-2', orderRef: 'O-1' }))).code,
      ).toBe(7);
      expect((await failure(web.unary(m.releaseStock, { reservationId: 'auth-b2b-2', reason: 'cancel' }))).code).toBe(
        7,
      );
      expect((await failure(staff.unary(m.releaseStock, { reservationId: 'auth-b2b-2', reason: 'cancel' }))).code).toBe(
        7,
      );
      expect((await failure(staff.unary(m.getReservation, { reservationId: 'auth-b2b-2' }))).code).toBe(7);
      const still = await admin.unary(m.getReservation, { reservationId: 'auth-b2b-2' });
      expect(still.reservation?.status).toBe(ReservationStatus.PENDING);
    });

    it('lets store staff receive only at their own locations', async () => {
      const staff = grpcClient(await tokenFor('acme', { roles: ['store_staff'], locations: ['S1'] }));
      const err = await failure(
        staff.unary(m.receiveStock, { movementId: 'auth-staff-1', sku: 'SKU-AUTH', locationId: 'W3', quantity: 5n }),
      );
      expect(err.code).toBe(7);
      const ok = await staff.unary(m.receiveStock, {
        movementId: 'auth-staff-2',
        sku: 'SKU-AUTH',
        locationId: 'S1',
        quantity: 5n,
      });
      expect(ok.level?.onHand).toBe(5n);
      expect((await failure(staff.unary(m.queryStock, query))).code).toBe(7);
    });
  });

  describe('tenant isolation', () => {
    const key = { sku: 'SKU-ISO', locationId: 'W1' };
    let tenantA: GrpcClient;
    let tenantB: GrpcClient;

    beforeAll(async () => {
      tenantA = grpcClient(await tokenFor('tenant-a'));
      tenantB = grpcClient(await tokenFor('tenant-b'));
      await tenantA.unary(m.receiveStock, { movementId: 'iso-rcv-1', ...key, quantity: 5n });
      await tenantA.unary(m.reserveStock, {
        reservationId: 'iso-res-1',
        channel: Channel.ECOMMERCE,
        lines: [{ ...key, quantity: 2n }],
      });
      await tenantA.unary(m.reserveStock, {
        reservationId: 'iso-res-2',
        channel: Channel.ECOMMERCE,
        lines: [{ ...key, quantity: 1n }],
      });
    });

    it("shows tenant B zeros for tenant A's stock", async () => {
      for (const consistency of [Consistency.STRONG, Consistency.EVENTUAL, Consistency.UNSPECIFIED]) {
        const [level] = (await tenantB.unary(m.queryStock, { keys: [key], consistency })).levels;
        expect(level).toMatchObject({
          onHand: 0n,
          reserved: 0n,
          available: 0n,
          version: 0n,
          status: AvailabilityStatus.OUT_OF_STOCK,
        });
      }
    });

    it("does not let tenant B read, confirm or release tenant A's reservations", async () => {
      expect((await failure(tenantB.unary(m.getReservation, { reservationId: 'iso-res-1' }))).code).toBe(5);
      expect(
        (await failure(tenantB.unary(m.confirmReservation, { reservationId: 'iso-res-1', orderRef: 'B-1' }))).code,
      ).toBe(5);
      expect(
        (await failure(tenantB.unary(m.releaseStock, { reservationId: 'iso-res-2', reason: 'mine now' }))).code,
      ).toBe(5);
      expect(
        (await failure(tenantB.unary(m.fulfilReservation, { reservationId: 'iso-res-1', shipmentRef: 'S' }))).code,
      ).toBe(5);

      const a1 = await tenantA.unary(m.getReservation, { reservationId: 'iso-res-1' });
      const a2 = await tenantA.unary(m.getReservation, { reservationId: 'iso-res-2' });
      expect([a1.reservation?.status, a2.reservation?.status]).toEqual([
        ReservationStatus.PENDING,
        ReservationStatus.PENDING,
      ]);
      const [level] = (await tenantA.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels;
      expect(level).toMatchObject({ onHand: 5n, reserved: 3n, available: 2n });
    });

    it("keeps ids per tenant: tenant B's reservation with the same id is its own", async () => {
      const short = await failure(
        tenantB.unary(m.reserveStock, {
          reservationId: 'iso-res-1',
          channel: Channel.ECOMMERCE,
          lines: [{ ...key, quantity: 2n }],
        }),
      );
      expect(short.code).toBe(9);
      expect(errorDetails(short).errorInfo?.metadata).toMatchObject({ available: '0' });

      const keyB = { sku: 'SKU-ISO-B', locationId: 'W1' };
      await tenantB.unary(m.receiveStock, { movementId: 'iso-rcv-1', ...keyB, quantity: 1n });
      const mine = await tenantB.unary(m.reserveStock, {
        reservationId: 'iso-res-1',
        channel: Channel.B2B,
        lines: [{ ...keyB, quantity: 1n }],
      });
      expect(mine.reservation?.channel).toBe(Channel.B2B);
      await tenantB.unary(m.releaseStock, { reservationId: 'iso-res-1', reason: 'test' });

      const a1 = await tenantA.unary(m.getReservation, { reservationId: 'iso-res-1' });
      expect(a1.reservation).toMatchObject({ status: ReservationStatus.PENDING, channel: Channel.ECOMMERCE });
      const [levelA] = (await tenantA.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels;
      expect(levelA).toMatchObject({ onHand: 5n, reserved: 3n });
    });
  });
});
