// The REST edge: a Fastify server translating HTTP for web shops and B2B
// portals into core calls. No rules live here; the core decides.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController } from 'fastify';
import { ConnectError } from '@connectrpc/connect';
import { HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import { mountTelemetry } from '../../platform/http/telemetry.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { cachingVerifier } from '../../platform/auth/tokens.js';
import { availabilityRoutes } from './availability.js';
import { connectCore } from './core.js';
import { docsPage } from './docsPage.js';
import { openApiDocument } from './openapi.js';
import { HttpProblem, fromConnectError, sendProblem } from '../../platform/http/problems.js';
import { createRateLimiter } from './rateLimit.js';
import { reservationRoutes } from './reservations.js';
import { mountRoute } from './route.js';
import { createStreamHub } from './sse.js';
import { stockRoutes } from './stock.js';
import { streamRoutes } from './stream.js';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../../platform/auth/tokens.js';
import type { Config } from '../../platform/config.js';
import type { CoreClient } from './core.js';
import type { EdgeSettings } from './config.js';
import type { ProblemInit } from '../../platform/http/problems.js';
import type { Route } from './route.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export type EdgeDeps = {
  core: CoreClient;
  verify: TokenVerifier;
  settings: EdgeSettings;
  log: Logger;
  /** The clock of the rate limiters (and the token cache): Date.now in production. */
  now: () => number;
  /** More routes, mounted and documented like the built-in ones. */
  routes?: Route[];
  /**
   * Fastify plugins registered inside the edge (e.g. webhook subscriptions):
   * they share its problem+json errors, correlation ids, body limit and hooks,
   * and can use `authenticate` / `permit` from ./auth.ts.
   */
  plugins?: FastifyPluginAsync[];
  /** The process's registry and tracer; a private registry without. */
  telemetry?: Telemetry;
};

const CORRELATION = /^[\x21-\x7e]{1,128}$/;

// Fastify's own request errors (body, media type, JSON) as problems; their messages name what was wrong.
const fastifyProblem = (err: FastifyError, bodyLimitBytes: number): ProblemInit | null => {
  const status = err.statusCode ?? 500;
  if (status >= 500) return null;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return {
      slug: 'payload-too-large',
      title: 'Request body too large',
      status: 413,
      detail: `the request body is over the limit of ${bodyLimitBytes} bytes; nothing was applied, send a smaller one`,
      extensions: { limitBytes: bodyLimitBytes },
    };
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return {
      slug: 'unsupported-media-type',
      title: 'Unsupported media type',
      status: 415,
      detail: `${err.message}; send Content-Type: application/json`,
    };
  return { slug: 'invalid-request', title: 'The request is not valid', status, detail: err.message };
};

export const buildEdge = async (
  deps: EdgeDeps,
): Promise<{ app: FastifyInstance; ready(): Promise<boolean>; close(): Promise<void> }> => {
  const { core, settings, log } = deps;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Per-request lines would cost more CPU than the availability read itself; failures are logged.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlationId' }),
    bodyLimit: settings.bodyLimitBytes,
    requestIdHeader: false,
    // The request id is the correlation id: taken from the caller when well-formed, echoed, sent to the core.
    genReqId: (req) => {
      const h = req.headers['correlation-id'] ?? req.headers['x-correlation-id'];
      return typeof h === 'string' && CORRELATION.test(h) ? h : randomUUID();
    },
  });
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('correlation-id', req.id);
  });
  app.setErrorHandler((err, req, reply) => {
    let p: ProblemInit | null;
    if (err instanceof HttpProblem) p = err.problem;
    else if (err instanceof ConnectError) p = fromConnectError(err);
    else p = fastifyProblem(err as FastifyError, settings.bodyLimitBytes);
    if (p === null || p.status >= 500) {
      if (p === null || p.slug === 'internal') req.log.error({ err, url: req.url }, 'request failed');
      p ??= {
        slug: 'internal',
        title: 'Internal error',
        status: 500,
        detail: 'internal error; retry, and report the correlation id if it persists',
      };
    }
    return sendProblem(reply, p, req.url.split('?')[0] ?? req.url);
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      {
        slug: 'not-found',
        title: 'Not found',
        status: 404,
        detail: `no route ${req.method} ${req.url.split('?')[0]}; see /docs`,
      },
      req.url.split('?')[0] ?? req.url,
    ),
  );

  const telemetry = deps.telemetry ?? privateTelemetry();
  let closing = false;
  // Ready while the core answers its health check (it stays SERVING while it can serve reads).
  const ready = async () =>
    !closing &&
    (await core.health.check({ service: '' }, { timeoutMs: 1_000 }).then(
      (r) => r.status === HealthCheckResponse_ServingStatus.SERVING,
      () => false,
    ));
  mountTelemetry(app, { server: 'edge', telemetry, checks: () => [{ name: 'core', ready }] });
  const sse = telemetry.metrics.gauge('streams_open', 'Streams open now (WatchStock, SSE)', ['kind']).labels('sse');
  sse.set(0);
  const hub = createStreamHub(core, {
    heartbeatMs: settings.sseHeartbeatMs,
    resumeMs: settings.sseResumeMs,
    maxStreams: settings.sseMaxStreams,
    openStreams: sse,
  });
  const routes = [
    ...availabilityRoutes({ core, maxAgeS: settings.availabilityMaxAgeS }),
    ...streamRoutes({ hub, heartbeatMs: settings.sseHeartbeatMs, resumeMs: settings.sseResumeMs }),
    ...reservationRoutes({ core }),
    ...stockRoutes({ core }),
    ...(deps.routes ?? []),
  ];
  const mount = {
    verify: deps.verify,
    ipLimiter: createRateLimiter(settings.ipRps, 'from this address', deps.now),
    tenantLimiter: createRateLimiter(settings.tenantRps, 'for this tenant', deps.now),
  };
  for (const r of routes) mountRoute(app, r, mount);

  const doc = openApiDocument(routes, {
    title: 'StockMind REST edge',
    version: '1',
    description:
      'Availability, reservations and stock levels for web shops and B2B portals. Every /v1 call needs `Authorization: Bearer <JWT>`. ' +
      'Errors are RFC 9457 `application/problem+json`. Send `Correlation-Id` to trace a call through the core and its events; it is echoed back. ' +
      `Limits: request bodies ${settings.bodyLimitBytes} bytes, ${settings.tenantRps} requests/s per tenant and ${settings.ipRps} per client address (bursts of twice that), then 429 with Retry-After.`,
  });
  const html = docsPage(doc);
  app.get('/openapi.json', async () => doc);
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').send(html));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);

  return {
    app,
    ready,
    async close() {
      closing = true;
      hub.close();
      await app.close();
    },
  };
};

export type EdgeHandle = { port: number; url: string; ready(): Promise<boolean>; close(): Promise<void> };

/** Starts the edge against the core at `coreUrl` and listens on `port` (0 = any free port). */
export const startEdge = async (
  config: Pick<Config, 'jwtSecret'>,
  settings: EdgeSettings,
  o: {
    coreUrl: string;
    port: number;
    log: Logger;
    now: () => number;
    plugins?: FastifyPluginAsync[];
    telemetry?: Telemetry;
  },
): Promise<EdgeHandle> => {
  const core = connectCore(o.coreUrl, settings.coreTimeoutMs);
  const edge = await buildEdge({
    core,
    verify: cachingVerifier(config.jwtSecret, undefined, o.now),
    settings,
    log: o.log,
    now: o.now,
    ...(o.plugins === undefined ? {} : { plugins: o.plugins }),
    ...(o.telemetry === undefined ? {} : { telemetry: o.telemetry }),
  });
  try {
    await edge.app.listen({ port: o.port, host: settings.host });
  } catch (err) {
    core.close();
    throw err;
  }
  const address = edge.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  return {
    port,
    url: `http://${settings.host}:${port}`,
    ready: edge.ready,
    async close() {
      await edge.close();
      core.close();
    },
  };
};
