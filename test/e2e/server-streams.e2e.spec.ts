// A stream's errors are mapped like a unary call's, on both core ports: WatchStock refused by the
// caller check, the token, the input or the broker answers the same code on the Connect port as on
// the grpc-js port (the Connect port answered INTERNAL "internal error" to every error raised
// before the stream's own mapping).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { freePort, startCoreProcess } from '../../loadtest/bench/processes.js';
import { coreForSpec } from '../support/core.js';
import { tokenFor } from '../support/tokens.js';
import type { CoreHandle } from '../../loadtest/bench/processes.js';

const T = 'streams';

/** The error a WatchStock call ends with (it must end with one). */
const watchError = async (
  baseUrl: string,
  request: { keys?: { sku: string; locationId: string }[]; locationId?: string },
  token: string | null,
  protocol: 'grpc' | 'connect' = 'grpc',
): Promise<ConnectError> => {
  const transport =
    protocol === 'grpc' ? createGrpcTransport({ baseUrl }) : createConnectTransport({ baseUrl, httpVersion: '1.1' });
  const client = createClient(InventoryService, transport);
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  let received = 0;
  try {
    for await (const update of client.watchStock({ ...request, sendCurrent: true }, { headers, timeoutMs: 10_000 }))
      if (update.level !== undefined) received++; // a refused watch sends nothing
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error(`the watch ended without an error, after ${received} updates`);
};

describe('WatchStock errors on both ports', () => {
  const h = coreForSpec('e2e_server_streams', { [T]: { skus: ['SKU-S'], locations: ['W1', 'S2'] } }, { grpcJs: true });
  let noBroker: CoreHandle;
  let noBrokerGrpcPort: number;
  let admin: string;
  let staff: string;
  const url: Record<string, () => string> = {
    connect: () => h().core.url,
    'grpc-js': () => `http://${h().grpcJsAddress ?? ''}`,
  };

  beforeAll(async () => {
    admin = await tokenFor(T);
    staff = await tokenFor(T, { roles: ['store_staff'], locations: ['S2'] });
    // The same ledger, a broker that is not there.
    noBrokerGrpcPort = await freePort();
    noBroker = await startCoreProcess({
      ...h().env(),
      NATS_URL: `nats://127.0.0.1:${await freePort()}`,
      CORE_GRPC_PORT: String(noBrokerGrpcPort),
    });
  });

  afterAll(async () => {
    expect(await noBroker?.stop()).toBe(0);
  });

  describe.each(['connect', 'grpc-js'])('on the %s port', (port) => {
    const at = () => (url[port] as () => string)();

    it('answers UNAUTHENTICATED without a token', async () => {
      const err = await watchError(at(), { keys: [{ sku: 'SKU-S', locationId: 'W1' }] }, null);
      expect(err.code).toBe(Code.Unauthenticated);
    });

    it("answers PERMISSION_DENIED to store staff watching another store's stock", async () => {
      const err = await watchError(at(), { keys: [{ sku: 'SKU-S', locationId: 'W1' }] }, staff);
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe('OUT_OF_SCOPE');
    });

    it('answers INVALID_ARGUMENT naming the field, for the input rules and the text rule', async () => {
      expect((await watchError(at(), { keys: [{ sku: '', locationId: 'W1' }] }, admin)).code).toBe(
        Code.InvalidArgument,
      );
      const nul = await watchError(at(), { locationId: 'W\u0000' }, admin);
      expect(nul.code).toBe(Code.InvalidArgument);
      expect(nul.rawMessage).toContain('location_id: must not contain NUL');
    });

    it('answers UNAVAILABLE while the broker is down', async () => {
      const base = port === 'connect' ? noBroker.url : `http://127.0.0.1:${noBrokerGrpcPort}`;
      const err = await watchError(base, { keys: [{ sku: 'SKU-S', locationId: 'W1' }] }, admin);
      expect(err.code).toBe(Code.Unavailable);
    });
  });

  it('answers the Connect protocol over HTTP/1.1 the same way', async () => {
    const err = await watchError(h().core.url, { keys: [{ sku: 'SKU-S', locationId: 'W1' }] }, staff, 'connect');
    expect(err.code).toBe(Code.PermissionDenied);
  });
});
