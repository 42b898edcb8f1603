// RPC metrics and server spans, the same for both core ports: a Connect interceptor here, and
// begin/end calls in grpcServer.ts. rpc_duration_seconds{service,method,code} counts unary calls;
// a stream (WatchStock) counts in streams_open{kind} while it is open. With tracing on, the call's
// span replaces the incoming traceparent, so the caller info and the events carry the core's span.
import { ConnectError } from '@connectrpc/connect';
import { startSpan } from '../../../platform/telemetry/tracing.js';
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import type { Telemetry } from '../../../platform/telemetry/telemetry.js';

/** gRPC's canonical code names, by number (Connect's codes are the same numbers). */
const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** A code's canonical gRPC name (`FAILED_PRECONDITION`), as the metrics label it. */
export const codeName = (code: number): string => CODE_NAMES[code] ?? String(code);

/** Codes that mean the server failed (OpenTelemetry's rule for server spans); the others are the caller's. */
const SERVER_FAULTS = new Set([2, 4, 12, 13, 14, 15]);

export type RpcCall = {
  /** The traceparent the handlers see: the call's span, or the caller's header when tracing is off. */
  traceparent: string | null;
  end(code: number, error?: unknown): void;
};

export type RpcTelemetry = {
  begin(service: DescService, method: DescMethod, incoming: string | null): RpcCall;
};

const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

export const rpcTelemetry = ({ metrics, tracing }: Telemetry): RpcTelemetry => {
  const durations = metrics.histogram('rpc_duration_seconds', 'Unary RPCs served by the core, by method and code', [
    'service',
    'method',
    'code',
  ]);
  const streams = metrics.gauge('streams_open', 'Streams open now (WatchStock, SSE)', ['kind']);
  streams.set({ kind: 'watch_stock' }, 0);
  // Per method, looked up once: its stream kind and a label child per code (prom-client would hash
  // the label values on every call, which costs more than the observation).
  type PerMethod = { kind: string; byCode: ({ observe(v: number): void } | undefined)[] };
  const methods = new Map<DescMethod, PerMethod>();
  const perMethod = (service: DescService, method: DescMethod): PerMethod => {
    let p = methods.get(method);
    if (p === undefined) {
      p = { kind: service.name === 'Health' ? 'health_watch' : snake(method.name), byCode: [] };
      methods.set(method, p);
    }
    return p;
  };
  const child = (p: PerMethod, service: DescService, method: DescMethod, code: number) =>
    (p.byCode[code] ??= durations.labels(service.typeName, method.name, codeName(code)));
  return {
    begin(service, method, incoming) {
      const started = performance.now();
      const streaming = method.methodKind !== 'unary';
      const p = perMethod(service, method);
      const kind = p.kind;
      if (streaming) streams.inc({ kind });
      const span =
        tracing === null
          ? null
          : startSpan(tracing, `${service.typeName}/${method.name}`, {
              parent: incoming,
              kind: 'server',
              attributes: { 'rpc.system': 'grpc', 'rpc.service': service.typeName, 'rpc.method': method.name },
            });
      let ended = false;
      return {
        traceparent: span?.traceparent ?? incoming,
        end(code, error) {
          if (ended) return;
          ended = true;
          if (streaming) streams.dec({ kind });
          else child(p, service, method, code).observe((performance.now() - started) / 1000);
          if (span !== null) {
            span.set({ 'rpc.grpc.status_code': code });
            span.end(SERVER_FAULTS.has(code) ? error : undefined);
          }
        },
      };
    },
  };
};

const codeOf = (err: unknown): number => ConnectError.from(err).code;

/** The Connect server's side: outermost, so it sees every call's final code. */
export const telemetryInterceptor =
  (rpc: RpcTelemetry): Interceptor =>
  (next) =>
  async (req) => {
    const call = rpc.begin(req.service, req.method, req.header.get('traceparent'));
    if (call.traceparent !== null) req.header.set('traceparent', call.traceparent);
    try {
      const res = await next(req);
      if (!res.stream) {
        call.end(0);
        return res;
      }
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
            call.end(0);
          } catch (err) {
            call.end(codeOf(err), err);
            throw err;
          } finally {
            call.end(1);
          }
        })(),
      };
    } catch (err) {
      call.end(codeOf(err), err);
      throw err;
    }
  };
