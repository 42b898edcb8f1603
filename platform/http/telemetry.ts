// The probes, request metrics and server spans of a Fastify server (the REST edge, the webhook
// gateway): /metrics, /healthz, /readyz; http_request_duration_seconds{server,route,method,status};
// with tracing on, a server span per request whose traceparent the routes pass to the core.
import { probeAnswer } from '../telemetry/probes.js';
import { startSpan, validTraceparent } from '../telemetry/tracing.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ReadinessCheck } from '../telemetry/probes.js';
import type { SpanHandle } from '../telemetry/tracing.js';
import type { Telemetry } from '../telemetry/telemetry.js';

const traces = new WeakMap<FastifyRequest, { traceparent: string | null; span: SpanHandle | null }>();

/** What a core call made for this request carries: the request's span, or the caller's traceparent. */
export const traceparentOf = (req: FastifyRequest): string | null => traces.get(req)?.traceparent ?? null;

export const mountTelemetry = (
  app: FastifyInstance,
  o: { server: string; telemetry: Telemetry; checks: () => readonly ReadinessCheck[] },
): void => {
  const { metrics, tracing } = o.telemetry;
  for (const path of ['/metrics', '/healthz', '/readyz']) {
    app.get(path, async (_req, reply) => {
      const a = await probeAnswer(path, metrics, o.checks);
      if (a === null) throw new Error(`no probe at ${path}`);
      return reply.code(a.status).type(a.contentType).send(a.body);
    });
  }
  const durations = metrics.histogram('http_request_duration_seconds', 'HTTP requests answered, by route and status', [
    'server',
    'route',
    'method',
    'status',
  ]);
  app.addHook('onRequest', (req, _reply, done) => {
    const header = req.headers.traceparent;
    const incoming = validTraceparent(typeof header === 'string' ? header : null);
    if (tracing === null) {
      if (incoming !== null) traces.set(req, { traceparent: incoming, span: null });
    } else {
      const route = req.routeOptions.url ?? 'unmatched';
      const span = startSpan(tracing, `${req.method} ${route}`, {
        parent: incoming,
        kind: 'server',
        attributes: { 'http.request.method': req.method, 'http.route': route },
      });
      traces.set(req, { traceparent: span.traceparent, span });
    }
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    durations.observe(
      { server: o.server, route, method: req.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const span = traces.get(req)?.span;
    if (span != null) {
      span.set({ 'http.response.status_code': reply.statusCode });
      span.end(reply.statusCode >= 500 ? new Error(`HTTP ${reply.statusCode}`) : undefined);
    }
    done();
  });
};
