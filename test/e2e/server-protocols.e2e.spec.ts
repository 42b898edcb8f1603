// One running core, real clients: every protocol on one port answers alike (gRPC, Connect JSON,
// gRPC-Web, Connect over h2c), with the same codes, details and correlation ids; health without a token.
import { beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { createGrpcClient, errorDetails } from '../../loadtest/runner/grpcClient.js';
import { coreForSpec, failure } from '../support/core.js';
import { tokenFor } from '../support/tokens.js';
import type { Transport } from '@connectrpc/connect';
import type { Catalog } from '../support/core.js';

const m = InventoryService.method;

/**
 * The products and locations each tenant moves stock of below, registered before any write (writes to
 * an unknown SKU or location answer NOT_FOUND).
 */
const CATALOG: Catalog = {
  acme: { skus: ['SKU-PROTO', 'Käse 100% 🧀'], locations: ['W1', 'Zürich'] },
};

describe('the core server', () => {
  const h = coreForSpec('e2e_server_protocols', CATALOG);
  const grpcClient = (tok?: string, at?: string) => h().grpcClient(tok, at);

  describe('one port, every protocol', () => {
    const key = { sku: 'SKU-PROTO', locationId: 'W1' };

    beforeAll(async () => {
      await grpcClient(await tokenFor('acme')).unary(m.receiveStock, { movementId: 'proto-1', ...key, quantity: 7n });
    });

    it('answers the same QueryStock over gRPC, Connect JSON (HTTP/1.1), gRPC-Web and Connect over h2c', async () => {
      const tok = await tokenFor('acme');
      const admin = grpcClient(tok);
      const viaGrpc = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels[0];

      const res = await fetch(`${h().core.url}/stockmind.inventory.v1.InventoryService/QueryStock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
        body: JSON.stringify({ keys: [key], consistency: 'CONSISTENCY_STRONG' }),
      });
      expect(res.status).toBe(200);
      const viaConnectJson = ((await res.json()) as { levels: Record<string, unknown>[] }).levels[0];

      const headers = { authorization: `Bearer ${tok}` };
      const h2c = h().session();
      const grpcOverConnect = h().session();
      const transports: Record<string, Transport> = {
        grpcWeb: createGrpcWebTransport({ baseUrl: h().core.url, httpVersion: '1.1' }),
        connectH2c: createConnectTransport({ baseUrl: h().core.url, httpVersion: '2', sessionManager: h2c }),
        connectBinaryH1: createConnectTransport({ baseUrl: h().core.url, httpVersion: '1.1', useBinaryFormat: true }),
        grpcViaConnectClient: createGrpcTransport({ baseUrl: h().core.url, sessionManager: grpcOverConnect }),
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
      const client = createClient(
        InventoryService,
        createConnectTransport({ baseUrl: h().core.url, httpVersion: '1.1' }),
      );
      const anonymous = await failure(client.queryStock({ keys: [key] }));
      expect(ConnectError.from(anonymous).code).toBe(Code.Unauthenticated);
      const tooMany = ConnectError.from(
        await failure(
          client.reserveStock(
            { reservationId: 'proto-connect-1', channel: Channel.MARKETPLACE, lines: [{ ...key, quantity: 99n }] },
            { headers: { authorization: `Bearer ${await tokenFor('acme')}` } },
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
      const res = await fetch(`${h().core.url}/stockmind.inventory.v1.InventoryService/ReserveStock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor('acme')}` },
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
      const res = await fetch(`${h().core.url}/stockmind.inventory.v1.InventoryService/QueryStock`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await tokenFor('acme')}`,
          'correlation-id': 'order-4711',
        },
        body: JSON.stringify({ keys: [key] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('correlation-id')).toBe('order-4711');
    });

    it('passes human-readable error messages to grpc-js clients', async () => {
      const err = await failure(
        grpcClient(await tokenFor('acme')).unary(m.reserveStock, {
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
        grpcClient(await tokenFor('acme')).unary(m.reserveStock, {
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
      const health = h().track(createGrpcClient(Health, h().address));
      const overall = await health.unary(Health.method.check, { service: '' });
      const inventory = await health.unary(Health.method.check, { service: InventoryService.typeName });
      expect(overall.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect(inventory.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const unknown = await failure(health.unary(Health.method.check, { service: 'no.such.Service' }));
      expect(unknown.code).toBe(5);
    });
  });
});
