// One running core, real clients: every protocol on one port, health, tokens
// and roles, tenant isolation, input errors, client deadlines, shutdown and
// start-up configuration, as a caller would see them.
import { randomBytes } from 'node:crypto';
import { rejection } from '../support/app.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { ReservationStatus } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { AvailabilityStatus, Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import { signToken } from '../../platform/auth/tokens.js';
import { DEVELOPMENT_JWT_SECRET } from '../../platform/config.js';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { createGrpcClient, errorDetails } from '../../loadtest/runner/grpcClient.js';
import { startCoreProcess } from '../../loadtest/bench/processes.js';
import { createTestDatabase } from '../support/db.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { acceptsConnections, runCli } from '../support/readside.js';
import { eventually } from '../support/wait.js';
import type { ServiceError } from '@grpc/grpc-js';
import type { Transport } from '@connectrpc/connect';
import type { CoreHandle } from '../../loadtest/bench/processes.js';
import type { TestDatabase } from '../support/db.js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { Claims } from '../../platform/auth/tokens.js';

// Its own NATS subjects and Redis keys, so runs and other specs never see each other's.
const NAMESPACE = `e2e-server-${randomBytes(3).toString('hex')}`;
const m = InventoryService.method;

const token = (tenant: string, claims: Partial<Omit<Claims, 'tenant'>> = {}, ttlSeconds = 600) =>
  signToken(
    DEVELOPMENT_JWT_SECRET,
    {
      tenant,
      sub: claims.sub ?? `${tenant}-tester`,
      roles: claims.roles ?? ['admin'],
      locations: claims.locations ?? [],
      channels: claims.channels ?? [],
    },
    ttlSeconds,
  );

/** The failure of a call that must fail, to assert on its code and details. */
const failure = (call: Promise<unknown>) => rejection(call) as Promise<ServiceError>;

/**
 * The products and locations each tenant moves stock of below, registered before any write (writes to
 * an unknown SKU or location answer NOT_FOUND). The 'catalog' tenant registers its own, in its tests.
 */
const CATALOG: Record<string, { skus: string[]; locations: string[] }> = {
  acme: {
    skus: [
      'SKU-PROTO',
      'Käse 100% 🧀',
      'SKU-AUTH',
      'SKU-BAD',
      'SKU-BAD2',
      'X',
      'SKU-IDEM-RCV',
      'SKU-TTL',
      'SKU-IDEM',
      'SKU-CLI',
    ],
    locations: ['W1', 'Zürich', 'W3', 'S1', 'W9'],
  },
  'tenant-a': { skus: ['SKU-ISO'], locations: ['W1'] },
  'tenant-b': { skus: ['SKU-ISO', 'SKU-ISO-B'], locations: ['W1'] },
  deadline: { skus: ['SKU-DL'], locations: ['W1'] },
  shutdown: { skus: ['SKU-SD'], locations: ['W1'] },
};

describe('the core server', () => {
  let db: TestDatabase;
  let core: CoreHandle;
  let address: string;
  const extraCores: CoreHandle[] = [];
  const grpcClients: GrpcClient[] = [];
  const sessions: Http2SessionManager[] = [];

  const grpcClient = (tok?: string, at = address): GrpcClient => {
    const c = createGrpcClient(InventoryService, at, tok === undefined ? {} : { token: tok });
    grpcClients.push(c);
    return c;
  };

  const coreEnv = () => ({ DATABASE_URL: db.url, STOCKMIND_PG_POOL_MAX: '5', STOCKMIND_NAMESPACE: NAMESPACE });

  beforeAll(async () => {
    db = await createTestDatabase('e2e_server', 4);
    core = await startCoreProcess(coreEnv());
    address = `127.0.0.1:${core.port}`;
    for (const [tenant, fixture] of Object.entries(CATALOG))
      await registerCatalogRpc(grpcClient(await token(tenant)), fixture);
  });

  afterAll(async () => {
    for (const c of grpcClients) c.close();
    for (const s of sessions) s.abort();
    const codes = await Promise.all([core, ...extraCores].filter((c) => c !== undefined).map((c) => c.stop()));
    await db?.drop();
    expect(codes.every((code) => code === 0)).toBe(true);
  });

  describe('one port, every protocol', () => {
    const key = { sku: 'SKU-PROTO', locationId: 'W1' };

    beforeAll(async () => {
      await grpcClient(await token('acme')).unary(m.receiveStock, { movementId: 'proto-1', ...key, quantity: 7n });
    });

    it('answers the same QueryStock over gRPC, Connect JSON (HTTP/1.1), gRPC-Web and Connect over h2c', async () => {
      const tok = await token('acme');
      const admin = grpcClient(tok);
      const viaGrpc = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels[0];

      const res = await fetch(`${core.url}/stockmind.inventory.v1.InventoryService/QueryStock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
        body: JSON.stringify({ keys: [key], consistency: 'CONSISTENCY_STRONG' }),
      });
      expect(res.status).toBe(200);
      const viaConnectJson = ((await res.json()) as { levels: Record<string, unknown>[] }).levels[0];

      const headers = { authorization: `Bearer ${tok}` };
      const h2c = new Http2SessionManager(core.url);
      const grpcOverConnect = new Http2SessionManager(core.url);
      sessions.push(h2c, grpcOverConnect);
      const transports: Record<string, Transport> = {
        grpcWeb: createGrpcWebTransport({ baseUrl: core.url, httpVersion: '1.1' }),
        connectH2c: createConnectTransport({ baseUrl: core.url, httpVersion: '2', sessionManager: h2c }),
        connectBinaryH1: createConnectTransport({ baseUrl: core.url, httpVersion: '1.1', useBinaryFormat: true }),
        grpcViaConnectClient: createGrpcTransport({ baseUrl: core.url, sessionManager: grpcOverConnect }),
      };
      const viaConnectClients: Record<string, unknown> = {};
      for (const [name, transport] of Object.entries(transports)) {
        const client = createClient(InventoryService, transport);
        const { levels } = await client.queryStock({ keys: [key], consistency: Consistency.STRONG }, { headers });
        viaConnectClients[name] = {
          onHand: levels[0]?.onHand,
          available: levels[0]?.available,
          version: levels[0]?.version,
        };
      }

      expect({ onHand: viaGrpc?.onHand, available: viaGrpc?.available, version: viaGrpc?.version }).toEqual({
        onHand: 7n,
        available: 7n,
        version: 1n,
      });
      expect(viaConnectJson).toMatchObject({
        sku: 'SKU-PROTO',
        locationId: 'W1',
        onHand: '7',
        available: '7',
        status: 'AVAILABILITY_STATUS_IN_STOCK',
        version: '1',
      });
      for (const [name, got] of Object.entries(viaConnectClients)) {
        expect({ name, got }).toEqual({ name, got: { onHand: 7n, available: 7n, version: 1n } });
      }
    });

    it('gives Connect clients the same codes and details as grpc-js clients', async () => {
      const client = createClient(InventoryService, createConnectTransport({ baseUrl: core.url, httpVersion: '1.1' }));
      const anonymous = await failure(client.queryStock({ keys: [key] }));
      expect(ConnectError.from(anonymous).code).toBe(Code.Unauthenticated);
      const tooMany = ConnectError.from(
        await failure(
          client.reserveStock(
            { reservationId: 'proto-connect-1', channel: Channel.MARKETPLACE, lines: [{ ...key, quantity: 99n }] },
            { headers: { authorization: `Bearer ${await token('acme')}` } },
          ),
        ),
      );
      expect(tooMany.code).toBe(Code.FailedPrecondition);
      expect(tooMany.findDetails(ErrorInfoSchema)[0]).toMatchObject({
        reason: 'INSUFFICIENT_STOCK',
        metadata: { requested: '99', available: '7' },
      });
    });

    it('answers Connect errors as JSON with the HTTP status and the google.rpc details', async () => {
      const res = await fetch(`${core.url}/stockmind.inventory.v1.InventoryService/ReserveStock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('acme')}` },
        body: JSON.stringify({
          reservationId: 'proto-bad',
          channel: 'CHANNEL_ECOMMERCE',
          lines: [{ sku: 'SKU-PROTO', locationId: 'W1', quantity: '0' }],
        }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { code: string; message: string; details?: { type: string }[] };
      expect(body.code).toBe('invalid_argument');
      expect(body.message).toContain('lines[0].quantity');
      expect(body.details?.map((d) => d.type)).toContain('google.rpc.BadRequest');
    });

    it("echoes the caller's correlation id", async () => {
      const res = await fetch(`${core.url}/stockmind.inventory.v1.InventoryService/QueryStock`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await token('acme')}`,
          'correlation-id': 'order-4711',
        },
        body: JSON.stringify({ keys: [key] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('correlation-id')).toBe('order-4711');
    });

    it('passes human-readable error messages to grpc-js clients', async () => {
      const err = await failure(
        grpcClient(await token('acme')).unary(m.reserveStock, {
          reservationId: 'proto-too-many',
          channel: Channel.ECOMMERCE,
          lines: [{ ...key, quantity: 1000n }],
        }),
      );
      expect(err.code).toBe(9);
      expect(err.details).toBe(
        'not enough stock for sku "SKU-PROTO" at "W1": requested 1000, available 7; nothing was applied',
      );
      const unicode = await failure(
        grpcClient(await token('acme')).unary(m.reserveStock, {
          reservationId: 'proto-unicode',
          channel: Channel.ECOMMERCE,
          lines: [{ sku: 'Käse 100% 🧀', locationId: 'Zürich', quantity: 1n }],
        }),
      );
      // Registered, never received: still a refusal for lack of stock, not NOT_FOUND.
      expect(unicode.details).toBe(
        'not enough stock for sku "Käse 100% 🧀" at "Zürich": requested 1, available 0; nothing was applied',
      );
      expect(errorDetails(unicode).errorInfo?.metadata).toMatchObject({ sku: 'Käse 100% 🧀', location_id: 'Zürich' });
    });
  });

  describe('health', () => {
    it('answers grpc.health.v1.Health/Check with SERVING without a token', async () => {
      const health = createGrpcClient(Health, address);
      grpcClients.push(health as GrpcClient);
      const overall = await health.unary(Health.method.check, { service: '' });
      const inventory = await health.unary(Health.method.check, { service: InventoryService.typeName });
      expect(overall.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect(inventory.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const unknown = await failure(health.unary(Health.method.check, { service: 'no.such.Service' }));
      expect(unknown.code).toBe(5);
    });
  });

  describe('tokens and roles', () => {
    const query = { keys: [{ sku: 'SKU-AUTH', locationId: 'W3' }] };

    beforeAll(async () => {
      await grpcClient(await token('acme')).unary(m.receiveStock, {
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
      const auditor = grpcClient(await token('acme', { roles: ['auditor'] }));
      await expect(auditor.unary(m.queryStock, query)).resolves.toBeDefined();
      const err = await failure(
        auditor.unary(m.receiveStock, { movementId: 'auth-aud-1', sku: 'SKU-AUTH', locationId: 'W3', quantity: 5n }),
      );
      expect(err.code).toBe(7);
      expect(errorDetails(err).errorInfo?.reason).toBe('ROLE_NOT_ALLOWED');
    });

    it('lets a channel service reserve only for the channels in its token (no B2B holds without CHANNEL_B2B)', async () => {
      const web = grpcClient(await token('acme', { roles: ['channel_service'], channels: ['ECOMMERCE'] }));
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
      const admin = grpcClient(await token('acme'));
      expect((await failure(admin.unary(m.getReservation, { reservationId: 'auth-b2b-1' }))).code).toBe(5);
    });

    it("keeps confirm, release and reads of a reservation within the token's channels and locations", async () => {
      const admin = grpcClient(await token('acme'));
      await admin.unary(m.reserveStock, {
        reservationId: 'auth-b2b-2',
        channel: Channel.B2B,
        lines: [{ sku: 'SKU-AUTH', locationId: 'W3', quantity: 2n }],
      });
      const web = grpcClient(await token('acme', { roles: ['channel_service'], channels: ['ECOMMERCE'] }));
      const staff = grpcClient(await token('acme', { roles: ['store_staff'], locations: ['S1'] }));
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
      const staff = grpcClient(await token('acme', { roles: ['store_staff'], locations: ['S1'] }));
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
      tenantA = grpcClient(await token('tenant-a'));
      tenantB = grpcClient(await token('tenant-b'));
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

  describe('bad input', () => {
    let admin: GrpcClient;
    beforeAll(async () => {
      admin = grpcClient(await token('acme'));
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
        (await db.pool.query<{ n: string }>('select count(*) as n from events where tenant_id = $1', [tenant])).rows[0]
          ?.n,
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
      admin = grpcClient(await token(tenant));
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
      admin = grpcClient(await token('acme'));
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

  describe('client deadline', () => {
    it('answers DEADLINE_EXCEEDED while the stock row is locked, commits nothing, and frees the id', async () => {
      const tenant = 'deadline';
      const admin = grpcClient(await token(tenant));
      const key = { sku: 'SKU-DL', locationId: 'W1' };
      await admin.unary(m.receiveStock, { movementId: 'dl-rcv', ...key, quantity: 10n });
      const before = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels[0];

      const blocker = await db.pool.connect();
      try {
        await blocker.query('begin');
        const locked = await blocker.query(
          `select stream_id from streams where tenant_id = $1 and kind = 'stock_item' and location_id = $2 and sku = $3 for update`,
          [tenant, key.locationId, key.sku],
        );
        expect(locked.rowCount).toBe(1);
        const err = await failure(
          admin.unary(
            m.reserveStock,
            { reservationId: 'dl-1', channel: Channel.ECOMMERCE, lines: [{ ...key, quantity: 4n }] },
            { deadlineMs: 300 },
          ),
        );
        expect(err.code).toBe(4);
      } finally {
        await blocker.query('rollback');
        blocker.release();
      }
      // The blocked command now gets its lock; it must notice the caller left and roll back. Row locks
      // are granted in the order they were asked for: once this one is granted, that command is done.
      await db.pool.query(
        `select stream_id from streams where tenant_id = $1 and kind = 'stock_item' and location_id = $2 and sku = $3 for update`,
        [tenant, key.locationId, key.sku],
      );

      const events = await db.pool.query<{ n: string }>(
        `select count(*) as n from events e join streams s on s.stream_id = e.stream_id
          where s.tenant_id = $1 and (s.reservation_id = 'dl-1' or (s.kind = 'stock_item' and s.sku = $2 and e.version > 1))`,
        [tenant, key.sku],
      );
      expect(Number(events.rows[0]?.n)).toBe(0);
      expect((await failure(admin.unary(m.getReservation, { reservationId: 'dl-1' }))).code).toBe(5);
      const after = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels[0];
      expect({ onHand: after?.onHand, reserved: after?.reserved, version: after?.version }).toEqual({
        onHand: before?.onHand,
        reserved: 0n,
        version: before?.version,
      });

      const retry = await admin.unary(m.reserveStock, {
        reservationId: 'dl-1',
        channel: Channel.ECOMMERCE,
        lines: [{ ...key, quantity: 4n }],
      });
      expect(retry.reservation?.status).toBe(ReservationStatus.PENDING);
      const final = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels[0];
      expect({ reserved: final?.reserved, available: final?.available }).toEqual({ reserved: 4n, available: 6n });
    });
  });

  describe('graceful shutdown', () => {
    /** Sessions of the spec database waiting for a lock. */
    const lockWaits = async () =>
      Number(
        (
          await db.pool.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          )
        ).rows[0]?.n,
      );

    it('exits 0 on SIGTERM while a grpc-js client keeps its connection open', async () => {
      const other = await startCoreProcess(coreEnv());
      extraCores.push(other);
      const client = grpcClient(await token('acme'), `127.0.0.1:${other.port}`);
      await client.unary(m.queryStock, { keys: [{ sku: 'SKU-PROTO', locationId: 'W1' }] });
      const t0 = performance.now();
      const code = await other.stop('SIGTERM');
      expect(code).toBe(0);
      expect(performance.now() - t0).toBeLessThan(12_000);
      expect(other.output()).not.toMatch(/"level":(50|60)/);
    });

    it('does not wait out the grace period for an idle HTTP/1.1 keep-alive client', async () => {
      const other = await startCoreProcess(coreEnv());
      extraCores.push(other);
      // fetch keeps the connection open after the answer (keep-alive), like a browser or a REST gateway.
      const res = await fetch(`${other.url}/grpc.health.v1.Health/Check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await res.json()).toEqual({ status: 'SERVING' });
      const t0 = performance.now();
      expect(await other.stop('SIGTERM')).toBe(0);
      expect(performance.now() - t0).toBeLessThan(5_000); // the grace period is 10 s
    });

    it('finishes a call in flight before it exits', async () => {
      const other = await startCoreProcess(coreEnv());
      extraCores.push(other);
      const tenant = 'shutdown';
      const client = grpcClient(await token(tenant), `127.0.0.1:${other.port}`);
      const key = { sku: 'SKU-SD', locationId: 'W1' };
      await client.unary(m.receiveStock, { movementId: 'sd-rcv', ...key, quantity: 2n });

      const blocker = await db.pool.connect();
      let inFlight: Promise<unknown>;
      let exited: Promise<number | null>;
      try {
        await blocker.query('begin');
        await blocker.query(
          `select 1 from streams where tenant_id = $1 and kind = 'stock_item' and sku = $2 for update`,
          [tenant, key.sku],
        );
        inFlight = client.unary(m.reserveStock, {
          reservationId: 'sd-1',
          channel: Channel.POS,
          lines: [{ ...key, quantity: 1n }],
        });
        // The call waits for the row lock, then the core is told to stop and closes its port.
        await eventually(async () => expect(await lockWaits()).toBe(1), 5_000);
        exited = other.stop('SIGTERM');
        await eventually(async () => expect(await acceptsConnections(other.port)).toBe(false), 5_000);
      } finally {
        await blocker.query('rollback');
        blocker.release();
      }
      await expect(inFlight).resolves.toMatchObject({
        reservation: { reservationId: 'sd-1', status: ReservationStatus.PENDING },
      });
      expect(await exited).toBe(0);
    });
  });

  // Each test runs its own short-lived process: run them side by side.
  describe.concurrent('configuration', () => {
    it('refuses to start in production without STOCKMIND_JWT_SECRET', async ({ expect }) => {
      const r = await runCli(['core'], {
        ...coreEnv(),
        NODE_ENV: 'production',
        STOCKMIND_JWT_SECRET: undefined,
        CORE_PORT: '0',
      });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('STOCKMIND_JWT_SECRET');
      expect(r.stdout).not.toContain('listening');
    });

    it('refuses a CORE_PORT that is not a port, naming it', async ({ expect }) => {
      const r = await runCli(['core'], { ...coreEnv(), NODE_ENV: 'test', CORE_PORT: 'notaport' });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('CORE_PORT');
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    });

    it('treats an empty CORE_PORT as unset (the default 50051), not as a random port', async ({ expect }) => {
      // 192.0.2.1 (TEST-NET) is not a local address: the listen fails and names the port it tried,
      // without taking 50051 on this machine; where it is allowed, the core says where it listens.
      const r = await runCli(
        ['core'],
        { ...coreEnv(), NODE_ENV: 'test', CORE_PORT: '', CORE_HOST: '192.0.2.1' },
        /listening on/,
      );
      expect(`${r.stdout}${r.stderr}`).toContain('192.0.2.1:50051');
    });

    it('says which port is taken when CORE_PORT is in use, without a stack trace', async ({ expect }) => {
      const r = await runCli(['core'], { ...coreEnv(), NODE_ENV: 'test', CORE_PORT: String(core.port) });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('EADDRINUSE');
      expect(r.stderr, r.stderr).toContain('CORE_PORT');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('says Postgres is unreachable, naming DATABASE_URL, without a stack trace', async ({ expect }) => {
      const r = await runCli(['core'], {
        ...coreEnv(),
        NODE_ENV: 'test',
        CORE_PORT: '0',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/stockmind',
      });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('DATABASE_URL');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('prints a token the core accepts as the last line of stdout', async ({ expect }) => {
      const r = await runCli(['token', '--tenant', 'acme', '--roles', 'admin'], {
        NODE_ENV: 'test',
        STOCKMIND_JWT_SECRET: undefined,
      });
      expect(r.code, r.stderr).toBe(0);
      const last = r.stdout.trim().split('\n').pop() ?? '';
      expect(last).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const cli = grpcClient(last);
      await cli.unary(m.receiveStock, { movementId: 'cli-token-1', sku: 'SKU-CLI', locationId: 'W9', quantity: 3n });
      const { levels } = await grpcClient(await token('acme', { roles: ['auditor'] })).unary(m.queryStock, {
        keys: [{ sku: 'SKU-CLI', locationId: 'W9' }],
        consistency: Consistency.STRONG,
      });
      expect(levels[0]?.onHand).toBe(3n); // the CLI token acted as an admin of tenant acme
    });

    it('refuses an unknown role', async ({ expect }) => {
      const r = await runCli(['token', '--tenant', 'acme', '--roles', 'wizard'], { NODE_ENV: 'test' });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('--roles');
      expect(r.stdout.trim()).toBe('');
    });
  });
});
