// OpenTelemetry traces, off unless the standard OTEL_* variables ask for them. Only W3C
// `traceparent` strings cross the parts (headers, event metadata, NATS headers), so a part that
// traces nothing passes its caller's on and pays one `tracing === null` check per call.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Attributes, Context, Span, TextMapGetter, Tracer } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

export type Tracing = { tracer: Tracer; shutdown(): Promise<void> };

export class TracingConfigError extends Error {
  override name = 'TracingConfigError';
}

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The header value when it is a well-formed W3C traceparent (version 00), else null. */
export const validTraceparent = (value: string | null | undefined): string | null =>
  typeof value === 'string' && TRACEPARENT.test(value) ? value : null;

/** The trace id of a traceparent (the part events carry as `traceId`). */
export const traceIdOf = (traceparent: string | null): string | null => traceparent?.split('-')[1] ?? null;

const propagator = new W3CTraceContextPropagator();
const getter: TextMapGetter<{ traceparent: string }> = {
  get: (carrier, key) => (key === 'traceparent' ? carrier.traceparent : undefined),
  keys: () => ['traceparent'],
};
const contextOf = (traceparent: string | null | undefined): Context => {
  const valid = validTraceparent(traceparent);
  return valid === null ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, { traceparent: valid }, getter);
};
const traceparentOf = (span: Span): string => {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 1) === 1 ? '01' : '00'}`;
};

const KINDS = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
} as const;

export type SpanHandle = {
  /** This span as a W3C traceparent: what its children and the next hop receive. */
  traceparent: string;
  traceId: string;
  set(attributes: Attributes): void;
  /** Ends the span; an error marks it failed. */
  end(error?: unknown): void;
};

export type SpanOptions = {
  /** The parent, as a traceparent; none (or an invalid one) starts a new trace. */
  parent?: string | null | undefined;
  kind?: keyof typeof KINDS;
  attributes?: Attributes;
  /** Spans this one is caused by without being their child (a batch's commands). */
  links?: readonly (string | null | undefined)[];
};

export const startSpan = (tracing: Tracing, name: string, o: SpanOptions = {}): SpanHandle => {
  const links = (o.links ?? []).flatMap((l) => {
    const sc = trace.getSpanContext(contextOf(l));
    return sc === undefined ? [] : [{ context: sc }];
  });
  const span = tracing.tracer.startSpan(
    name,
    { kind: KINDS[o.kind ?? 'internal'], ...(o.attributes === undefined ? {} : { attributes: o.attributes }), links },
    contextOf(o.parent),
  );
  return {
    traceparent: traceparentOf(span),
    traceId: span.spanContext().traceId,
    set: (attributes) => void span.setAttributes(attributes),
    end(error) {
      if (error !== undefined) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      }
      span.end();
    },
  };
};

/** Runs `work` inside a span when tracing is on; otherwise just runs it (no span, no cost). */
export const inSpan = async <T>(
  tracing: Tracing | null,
  name: string,
  o: SpanOptions,
  work: (traceparent: string | null) => Promise<T>,
): Promise<T> => {
  if (tracing === null) return work(validTraceparent(o.parent));
  const span = startSpan(tracing, name, o);
  try {
    const value = await work(span.traceparent);
    span.end();
    return value;
  } catch (err) {
    span.end(err);
    throw err;
  }
};

/** A tracer over the given span processors: what tracingFromEnv builds, and what specs build with an in-memory exporter. */
export const createTracing = (serviceName: string, processors: SpanProcessor[]): Tracing => {
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the part's own name.
  const detected = detectResources({ detectors: [envDetector] });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }).merge(detected),
    spanProcessors: processors,
  });
  return { tracer: provider.getTracer('stockmind'), shutdown: () => provider.shutdown() };
};

const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/**
 * Tracing as the OTEL_* variables configure it, or null (the default: off). On when
 * OTEL_TRACES_EXPORTER names an exporter (otlp, console) or an OTLP endpoint is set;
 * OTEL_SDK_DISABLED=true turns it off. The exporter, sampler, batch and resource read their own
 * OTEL_* variables (OTEL_EXPORTER_OTLP_*, OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_SERVICE_NAME).
 */
export const tracingFromEnv = (env: NodeJS.ProcessEnv, serviceName: string): Tracing | null => {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  const endpoint = set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (exporter === 'none' || (exporter === undefined && !endpoint)) return null;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol !== undefined && protocol !== '' && protocol !== 'http/protobuf')
    throw new TracingConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not supported; use http/protobuf`);
  switch (exporter ?? 'otlp') {
    case 'otlp':
      return createTracing(serviceName, [new BatchSpanProcessor(new OTLPTraceExporter())]);
    case 'console':
      return createTracing(serviceName, [new BatchSpanProcessor(new ConsoleSpanExporter())]);
    default:
      throw new TracingConfigError(`OTEL_TRACES_EXPORTER: "${exporter}" is not supported; use otlp, console or none`);
  }
};
