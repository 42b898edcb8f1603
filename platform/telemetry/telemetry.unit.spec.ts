import { describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createMetrics, MetricDefinitionError } from './metrics.js';
import { readiness } from './probes.js';
import { createTracing, inSpan, startSpan, tracingFromEnv, TracingConfigError, validTraceparent } from './tracing.js';
import { parseExposition, metricSum } from '../../test/support/metrics.js';

describe('metrics', () => {
  it('adds a prefixed metric in one line, and hands the same one to a second part asking for it', async () => {
    const metrics = createMetrics();
    const a = metrics.counter('dead_letters_total', 'Messages given up on', ['consumer']);
    const b = metrics.counter('dead_letters_total', 'Messages given up on', ['consumer']);
    a.inc({ consumer: 'availability' });
    b.inc({ consumer: 'availability' }, 2);
    const { body, contentType } = await metrics.expose();
    expect(contentType).toMatch(/^text\/plain/);
    expect(metricSum(parseExposition(body), 'stockmind_dead_letters_total', { consumer: 'availability' })).toBe(3);
  });

  it('refuses the same name with another type or other labels, and a name that is not snake_case', () => {
    const metrics = createMetrics();
    metrics.gauge('streams_open', 'Streams open', ['kind']);
    expect(() => metrics.counter('streams_open', 'Streams open', ['kind'])).toThrow(MetricDefinitionError);
    expect(() => metrics.gauge('streams_open', 'Streams open', ['other'])).toThrow(MetricDefinitionError);
    expect(() => metrics.counter('Bad-Name', 'x')).toThrow(MetricDefinitionError);
  });

  it('keeps registries apart: a part without a process gets its own', async () => {
    const one = createMetrics();
    const two = createMetrics();
    one.counter('reservations_total', 'x').inc();
    expect(metricSum(parseExposition((await two.expose()).body), 'stockmind_reservations_total')).toBeUndefined();
  });
});

describe('readiness', () => {
  it('is ready when every deciding check passes; an informational one is reported only', async () => {
    const r = await readiness([
      { name: 'core', ready: async () => true },
      { name: 'relay', ready: async () => false, informational: true },
    ]);
    expect(r).toEqual({ ready: true, parts: { core: true, relay: false } });
  });

  it('is not ready when a deciding check fails, throws, or does not answer in time', async () => {
    const slow = { name: 'slow', ready: () => new Promise<boolean>(() => undefined) };
    const broken = { name: 'broken', ready: () => Promise.reject(new Error('down')) };
    const r = await readiness([{ name: 'ok', ready: async () => true }, slow, broken], 50);
    expect(r).toEqual({ ready: false, parts: { ok: true, slow: false, broken: false } });
  });
});

describe('tracing', () => {
  it('is off unless OTEL_* asks for it', () => {
    expect(tracingFromEnv({}, 'stockmind-core')).toBeNull();
    expect(
      tracingFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318' }, 's'),
    ).toBeNull();
    expect(tracingFromEnv({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, 's')).toBeNull();
    expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 's')).not.toBeNull();
  });

  it('names what it cannot do', () => {
    expect(() => tracingFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' }, 's')).toThrow(TracingConfigError);
    expect(() => tracingFromEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 's')).toThrow(
      /http\/protobuf/,
    );
  });

  it('accepts only well-formed traceparents', () => {
    expect(validTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).not.toBeNull();
    expect(validTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeNull();
    expect(validTraceparent('00-abc-def-01')).toBeNull();
    expect(validTraceparent(undefined)).toBeNull();
  });

  it('makes children of the given parent, and links; off, it runs the work with the caller traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = createTracing('spec', [new SimpleSpanProcessor(exporter)]);
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const linked = '00-11111111111111111111111111111111-2222222222222222-01';
    const seen = await inSpan(tracing, 'work', { parent, links: [linked] }, async (tp) => tp);
    const [span] = exporter.getFinishedSpans();
    expect(span?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span?.links.map((l) => l.context.spanId)).toEqual(['2222222222222222']);
    expect(seen).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${span?.spanContext().spanId}-01`);
    expect(await inSpan(null, 'work', { parent }, async (tp) => tp)).toBe(parent);
    const failed = startSpan(tracing, 'fails');
    failed.end(new Error('boom'));
    expect(exporter.getFinishedSpans()[1]?.status.code).toBe(2);
    await tracing.shutdown();
  });
});
