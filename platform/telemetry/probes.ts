// /metrics, /healthz (alive: the event loop answers) and /readyz (every part can do its job; for
// the core, serve reads), answered the same on a process's own HTTP port (edge, webhook gateway)
// and on STOCKMIND_METRICS_PORT (core, relay, projectors, or all of them under `stockmind start`).
import http from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/**
 * A part's readiness: false while it cannot do its job, and from the moment it starts draining.
 * An informational check is reported but does not decide (under `start`, a relay waiting for
 * Postgres must not take the core's reads out of the load balancer).
 */
export type ReadinessCheck = { name: string; ready(): Promise<boolean>; informational?: boolean };

/** Whether a dependency answers: for a part's ready(). */
export const answers = (check: () => Promise<unknown>): Promise<boolean> =>
  check().then(
    () => true,
    () => false,
  );

export type ProbeAnswer = { status: number; contentType: string; body: string };

const json = (status: number, value: unknown): ProbeAnswer => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify(value),
});

/** Each check bounded in time: a probe must answer before the load balancer's own timeout. */
const within = (check: ReadinessCheck, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    check.ready().then(
      (ok) => {
        clearTimeout(timer);
        resolve(ok);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });

export const readiness = async (checks: readonly ReadinessCheck[], timeoutMs = 2_000) => {
  const results = await Promise.all(checks.map(async (c) => [c.name, await within(c, timeoutMs)] as const));
  const decides = (name: string) => checks.find((c) => c.name === name)?.informational !== true;
  return { ready: results.every(([name, ok]) => ok || !decides(name)), parts: Object.fromEntries(results) };
};

/** The answer to GET `path`, or null when the path is not a probe's. */
export const probeAnswer = async (
  path: string,
  metrics: Metrics,
  checks: () => readonly ReadinessCheck[],
): Promise<ProbeAnswer | null> => {
  switch (path) {
    case '/metrics': {
      const { contentType, body } = await metrics.expose();
      return { status: 200, contentType, body };
    }
    case '/healthz':
      return json(200, { status: 'alive' });
    case '/readyz': {
      const r = await readiness(checks());
      return json(r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', parts: r.parts });
    }
    default:
      return null;
  }
};

export type ProbeServer = { port: number; close(): Promise<void> };

export class ProbePortError extends Error {
  override name = 'ProbePortError';
}

/** The probe listener on STOCKMIND_METRICS_PORT (0 = any free port). */
export const startProbeServer = async (o: {
  host: string;
  port: number;
  metrics: Metrics;
  checks: () => readonly ReadinessCheck[];
  log: Logger;
}): Promise<ProbeServer> => {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const answer = req.method === 'GET' || req.method === 'HEAD' ? probeAnswer(path, o.metrics, o.checks) : null;
    void Promise.resolve(answer).then(
      (a) => {
        const out = a ?? json(404, { error: `no ${req.method} ${path}; try /metrics, /healthz or /readyz` });
        res
          .writeHead(out.status, { 'content-type': out.contentType })
          .end(req.method === 'HEAD' ? undefined : out.body);
      },
      (err: unknown) => {
        o.log.error({ err, path }, 'probe failed');
        res.writeHead(500).end();
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ProbePortError(`listen ${err.code ?? 'failed'}: ${o.host}:${o.port} (STOCKMIND_METRICS_PORT)`)),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
