// The edge's only way to the core: Connect's gRPC transport over one HTTP/2
// session, carrying the caller's own token and correlation id on every call.
import { createClient } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import type { CallOptions, Client } from '@connectrpc/connect';

export type CoreCall = { token: string; correlationId: string; signal?: AbortSignal };

export type CoreClient = {
  inventory: Client<typeof InventoryService>;
  health: Client<typeof Health>;
  /** Unary call options: the caller's credentials, correlation id and the edge's deadline. */
  unary(call: CoreCall): CallOptions;
  /** Streaming call options: no deadline, ended by the signal. */
  stream(call: CoreCall & { signal: AbortSignal }): CallOptions;
  close(): void;
};

export const connectCore = (baseUrl: string, timeoutMs: number): CoreClient => {
  // Pings keep a quiet session verified, so the first call after a core restart fails fast instead of hanging.
  const session = new Http2SessionManager(baseUrl, { pingIntervalMs: 10_000, pingTimeoutMs: 5_000, idleConnectionTimeoutMs: 60_000 });
  const transport = createGrpcTransport({ baseUrl, sessionManager: session });
  const inventory = createClient(InventoryService, transport);
  const headers = (call: CoreCall) => ({ authorization: `Bearer ${call.token}`, 'correlation-id': call.correlationId });
  return {
    inventory,
    health: createClient(Health, transport),
    unary: (call) => ({ headers: headers(call), timeoutMs, ...(call.signal === undefined ? {} : { signal: call.signal }) }),
    stream: (call) => ({ headers: headers(call), signal: call.signal }),
    close: () => session.abort(),
  };
};
