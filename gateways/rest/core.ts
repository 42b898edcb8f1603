// The edge's only way to the core, carrying the caller's own token and
// correlation id on every call. Unary calls use the Connect protocol (binary)
// over pooled HTTP/1.1 keep-alive connections: measured on this machine, about
// twice the reads per second of gRPC over one HTTP/2 session (docs/benchmarks.md,
// "REST edge"). Streams (WatchStock) use gRPC over HTTP/2, so long-lived watches
// never hold a pooled connection that reads need.
import http from 'node:http';
import { createClient } from '@connectrpc/connect';
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import type { CallOptions, Client } from '@connectrpc/connect';

export type CoreCall = { token: string; correlationId: string; traceparent?: string | null; signal?: AbortSignal };

export type CoreClient = {
  /** For unary calls. */
  inventory: Client<typeof InventoryService>;
  /** For WatchStock. */
  streams: Client<typeof InventoryService>;
  health: Client<typeof Health>;
  /** Unary call options: the caller's credentials, correlation id and the edge's deadline. */
  unary(call: CoreCall): CallOptions;
  /** Streaming call options: no deadline, ended by the signal. */
  stream(call: CoreCall & { signal: AbortSignal }): CallOptions;
  close(): void;
};

const MAX_SOCKETS = 64;

export const connectCore = (baseUrl: string, timeoutMs: number): CoreClient => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const unaryTransport = createConnectTransport({
    baseUrl,
    httpVersion: '1.1',
    useBinaryFormat: true,
    nodeOptions: { agent },
  });
  // Pings keep a quiet session verified, so a watch opened after a core restart fails fast instead of hanging.
  const session = new Http2SessionManager(baseUrl, {
    pingIntervalMs: 10_000,
    pingTimeoutMs: 5_000,
    idleConnectionTimeoutMs: 60_000,
  });
  const headers = (call: CoreCall): Record<string, string> => ({
    authorization: `Bearer ${call.token}`,
    'correlation-id': call.correlationId,
    ...(call.traceparent == null ? {} : { traceparent: call.traceparent }),
  });
  return {
    inventory: createClient(InventoryService, unaryTransport),
    streams: createClient(InventoryService, createGrpcTransport({ baseUrl, sessionManager: session })),
    health: createClient(Health, unaryTransport),
    unary: (call) => ({
      headers: headers(call),
      timeoutMs,
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    }),
    stream: (call) => ({ headers: headers(call), signal: call.signal }),
    close: () => {
      session.abort();
      agent.destroy();
    },
  };
};
