// The same handlers served by @grpc/grpc-js on a second port (CORE_GRPC_PORT):
// gRPC only, for internal services. It costs a fraction of the CPU per call of
// the Connect server (docs/benchmarks.md). Auth, correlation ids and error
// mapping are the Connect server's own functions; only the framing differs.
import grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Code, createContextValues, createHandlerContext } from '@connectrpc/connect';
import { StatusSchema } from '../../../gen/google/rpc/status_pb.js';
import { requestCheck, serverDefinitionOf } from './grpcFrames.js';
import { callInfoFrom } from './interceptors.js';
import { callInfoKey } from './context.js';
import { toConnectError } from './errors.js';
import { MAX_MESSAGE_BYTES } from './framing.js';
import type { DescMessage, DescMethod, DescService } from '@bufbuild/protobuf';
import type { ConnectError, HandlerContext } from '@connectrpc/connect';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../../../platform/auth/tokens.js';
import type { RpcTelemetry } from './telemetry.js';

type AnyImpl = (request: unknown, ctx: HandlerContext) => unknown;
export type ServedService = { service: DescService; impl: Record<string, unknown>; protected: boolean };

/** A ConnectError as gRPC status, message and google.rpc.Status details (the codes are the same numbers). */
const toServiceError = (err: ConnectError, correlationId: string): Partial<grpc.StatusObject> => {
  const metadata = new grpc.Metadata();
  const details = err.details.flatMap((d) => ('desc' in d ? [anyPack(d.desc as DescMessage, d.value as never)] : []));
  if (details.length > 0) {
    metadata.set(
      'grpc-status-details-bin',
      Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code: err.code, message: err.rawMessage, details }))),
    );
  }
  if (correlationId !== '') metadata.set('correlation-id', correlationId);
  return { code: err.code as unknown as grpc.status, details: err.rawMessage, metadata };
};

const headersOf =
  (md: grpc.Metadata) =>
  (name: string): string | null => {
    const v = md.get(name)[0];
    return v === undefined ? null : String(v);
  };

export const startGrpcJsServer = async (o: {
  services: ServedService[];
  verify: TokenVerifier;
  log: Logger;
  host: string;
  port: number;
  /** rpc_duration_seconds, streams_open and server spans, as the Connect server's interceptor records them. */
  telemetry?: RpcTelemetry;
}): Promise<{ port: number; close(): Promise<void> }> => {
  /** Begins a call's metrics and span; with tracing on, the handlers see the call's span as the traceparent. */
  const begin = (s: ServedService, method: DescMethod, metadata: grpc.Metadata) => {
    if (o.telemetry === undefined) return null;
    const incoming = metadata.get('traceparent')[0];
    const call = o.telemetry.begin(s.service, method, incoming === undefined ? null : String(incoming));
    if (call.traceparent !== null) metadata.set('traceparent', call.traceparent);
    return call;
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    interceptors: [requestCheck],
  });
  const shutdown = new AbortController();

  /** The HandlerContext the Connect handlers expect, with the caller verified; aborted on cancel or deadline. */
  const contextFor = async (
    service: ServedService,
    method: DescMethod,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  ) => {
    const info = await callInfoFrom(headersOf(call.metadata), o.verify, service.protected);
    const deadline = call.getDeadline();
    const timeoutMs =
      deadline instanceof Date
        ? deadline.getTime() - Date.now()
        : Number.isFinite(deadline)
          ? Number(deadline) - Date.now()
          : undefined;
    const ctx = createHandlerContext({
      service: service.service,
      method,
      protocolName: 'grpc',
      requestMethod: 'POST',
      url: `/${service.service.typeName}/${method.name}`,
      shutdownSignal: shutdown.signal,
      ...(timeoutMs === undefined ? {} : { timeoutMs: Math.max(0, timeoutMs) }),
      contextValues: createContextValues().set(callInfoKey, info),
    });
    call.on('cancelled', () => ctx.abort(new Error('the client cancelled the call')));
    return { ctx, info };
  };

  for (const s of o.services) {
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of s.service.methods) {
      const impl = s.impl[method.localName] as AnyImpl | undefined;
      if (impl === undefined) continue;
      const name = `${s.service.name}/${method.name}`;
      const fail = (err: unknown, correlationId: string, started: number) => {
        const mapped = toConnectError(err);
        if (mapped.code === Code.Internal)
          o.log.error({ method: name, err, ms: +(performance.now() - started).toFixed(2) }, 'call failed');
        return toServiceError(mapped, correlationId);
      };
      if (method.methodKind === 'unary') {
        handlers[method.localName] = (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          const started = performance.now();
          const observed = begin(s, method, call.metadata);
          let correlationId = '';
          void (async () => {
            const { ctx, info } = await contextFor(s, method, call);
            correlationId = info.correlationId;
            const res = await impl(call.request, ctx);
            observed?.end(0);
            callback(null, create(method.output, res as never));
          })().catch((err: unknown) => {
            const status = fail(err, correlationId, started);
            observed?.end(Number(status.code), err);
            callback(status);
          });
        };
      } else if (method.methodKind === 'server_streaming') {
        handlers[method.localName] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          const started = performance.now();
          const observed = begin(s, method, call.metadata);
          let correlationId = '';
          void (async () => {
            const { ctx, info } = await contextFor(s, method, call);
            correlationId = info.correlationId;
            for await (const msg of impl(call.request, ctx) as AsyncIterable<unknown>) {
              if (call.cancelled) break;
              call.write(create(method.output, msg as never));
            }
            observed?.end(call.cancelled ? 1 : 0);
            call.end();
          })().catch((err: unknown) => {
            const status = fail(err, correlationId, started);
            observed?.end(call.cancelled ? 1 : Number(status.code), err);
            if (!call.cancelled) call.emit('error', status);
          });
        };
      }
    }
    server.addService(serverDefinitionOf(s.service), handlers);
  }

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${o.host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err === null) return resolve(bound);
      // The same wording as a failed listen, so the CLI names the variable to change.
      const code = /E[A-Z]{4,}/.exec(err.message)?.[0] ?? 'EADDRNOTAVAIL';
      reject(new Error(`listen ${code}: ${o.host}:${o.port} (CORE_GRPC_PORT)`));
    }),
  );
  return {
    port,
    async close() {
      // Streams (WatchStock) end when their handlers see the shutdown; unary calls in flight finish.
      shutdown.abort();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
};
