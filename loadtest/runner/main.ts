// `npm run loadtest -- <ghz config> [overrides]`: runs a ghz config file with
// @grpc/grpc-js clients, prints a ghz-style summary, writes ghz-compatible JSON
// and exits 1 when a stated budget is missed.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { loadConfig } from '../../platform/config.js';
import { signToken } from '../../platform/auth/tokens.js';
import { createRedis, redisReady } from '../../platform/redis.js';
import { createGrpcClient } from './grpcClient.js';
import { ConfigError, needsToken, parseConfig, parseGoDuration, substituteToken } from './config.js';
import { drive } from './drive.js';
import { createLagTracker } from './lag.js';
import { measurePgbench } from './baseline.js';
import { formatSummary, missedBudgets } from './report.js';
import type { DescMethod } from '@bufbuild/protobuf';
import type { ReserveStockRequest, ReserveStockResponse } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import type { Overrides } from './config.js';
import type { Budget, GhzResult } from './report.js';
import type { LagSummary } from './lag.js';
import type { PgbenchBaseline } from './baseline.js';

export const USAGE = `usage: npm run loadtest -- <config.json> [options]
  -n, --total N           requests in all (ignored with --duration)
  -z, --duration D        run for D (Go syntax: 10s, 1m)
  -c, --concurrency N     concurrent callers
      --connections N     HTTP/2 connections the callers share
  -r, --rps N             open loop at N requests/s (0 = closed loop)
  -t, --timeout D         per-call deadline (default 20s)
      --host H:P          target (default: the config's host)
      --token T           bearer token for \${STOCKMIND_TOKEN} (else $STOCKMIND_TOKEN, else a dev token)
      --tenant T          tenant of the minted dev token (default: tags.tenant, else load-1)
  -o, --output FILE       ghz JSON here (default loadtest/results/<name>-<time>.json)
      --p95 D / --p99 D   latency budgets (e.g. 200ms); missed -> exit 1
      --max-error-rate F  error budget, a fraction (e.g. 0.01); missed -> exit 1
      --lag               ReserveStock only: also measure commit -> Redis visibility
                          (REDIS_URL, STOCKMIND_NAMESPACE as the core's)
      --pgbench           first measure pgbench single-row inserts into DATABASE_URL at the
                          same concurrency and duration: the same-run baseline for writes
  -q, --quiet             no progress lines on stderr`;

const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name} must be a non-negative integer`);
  return n;
};

export const parseCli = (args: string[]) => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      total: { type: 'string', short: 'n' },
      duration: { type: 'string', short: 'z' },
      concurrency: { type: 'string', short: 'c' },
      connections: { type: 'string' },
      rps: { type: 'string', short: 'r' },
      timeout: { type: 'string', short: 't' },
      host: { type: 'string' },
      token: { type: 'string' },
      tenant: { type: 'string' },
      output: { type: 'string', short: 'o' },
      p95: { type: 'string' },
      p99: { type: 'string' },
      'max-error-rate': { type: 'string' },
      lag: { type: 'boolean', default: false },
      pgbench: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
  });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new ConfigError(USAGE);
  const overrides: Overrides = {};
  const set = <K extends keyof Overrides>(k: K, v: Overrides[K] | undefined) => {
    if (v !== undefined) overrides[k] = v;
  };
  set('total', int('total', values.total));
  set('concurrency', int('concurrency', values.concurrency));
  set('connections', int('connections', values.connections));
  set('rps', int('rps', values.rps));
  set('duration', values.duration);
  set('timeout', values.timeout);
  set('host', values.host);
  const budget: Budget = {};
  if (values.p95 !== undefined) budget.p95Ns = parseGoDuration(values.p95);
  if (values.p99 !== undefined) budget.p99Ns = parseGoDuration(values.p99);
  if (values['max-error-rate'] !== undefined) {
    const rate = Number(values['max-error-rate']);
    if (!(rate >= 0 && rate <= 1)) throw new ConfigError('--max-error-rate is a fraction between 0 and 1');
    budget.maxErrorRate = rate;
  }
  return {
    file,
    overrides,
    budget,
    token: values.token,
    tenant: values.tenant,
    output: values.output,
    lag: values.lag,
    pgbench: values.pgbench,
    quiet: values.quiet,
  };
};

const SERVICES = [InventoryService];

export const findMethod = (service: string, method: string): DescMethod => {
  const svc = SERVICES.find((s) => s.typeName === service);
  const m = svc?.methods.find((x) => x.name === method);
  if (m === undefined)
    throw new ConfigError(
      `unknown call ${service}.${method}; this runner knows ${SERVICES.map((s) => s.typeName).join(', ')}`,
    );
  if (m.methodKind !== 'unary')
    throw new ConfigError(`${service}.${method} is ${m.methodKind}; this runner drives unary calls`);
  return m;
};

const tenantOf = (token: string): string => {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    tenant?: unknown;
  };
  if (typeof payload.tenant !== 'string') throw new ConfigError('the token carries no tenant claim');
  return payload.tenant;
};

type Baseline = PgbenchBaseline & { okPerSecond: number; ratio: number };

export type LoadtestOutcome = {
  result: GhzResult & { commitToRedisLag?: LagSummary; baseline?: Baseline };
  missed: string[];
  file: string;
};

export const runLoadtest = async (
  args: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
): Promise<LoadtestOutcome> => {
  const cli = parseCli(args);
  let raw = JSON.parse(await readFile(cli.file, 'utf8')) as unknown;
  const env = loadConfig();
  let token = cli.token ?? process.env.STOCKMIND_TOKEN;
  const tags = (raw as { tags?: Record<string, string> }).tags ?? {};
  if (needsToken(raw)) {
    if (token === undefined) {
      const tenant = cli.tenant ?? tags.tenant ?? 'load-1';
      token = await signToken(
        env.jwtSecret,
        { tenant, sub: 'loadtest', roles: ['admin'], locations: [], channels: [] },
        3600,
      );
      process.stderr.write(`minted a development token for tenant "${tenant}" (role admin, 1 h)\n`);
    }
    raw = substituteToken(raw, token);
  }
  const plan = parseConfig(raw, cli.overrides);
  const method = findMethod(plan.service, plan.method);
  const clients = Array.from({ length: plan.connections }, () => createGrpcClient(InventoryService, plan.host));
  const lag = cli.lag
    ? await (async () => {
        if (method.name !== 'ReserveStock') throw new ConfigError('--lag measures ReserveStock calls only');
        if (token === undefined) throw new ConfigError('--lag needs the token (for its tenant)');
        const redis = createRedis(env.redisUrl, { commandTimeoutMs: 2_000, name: 'stockmind-loadtest-lag' });
        await redisReady(redis, 5_000);
        return { redis, tracker: createLagTracker(redis, env.namespace, tenantOf(token)) };
      })()
    : null;
  const options = {
    call: `${plan.service}.${plan.method}`,
    host: plan.host,
    total: plan.total,
    duration: plan.durationMs,
    concurrency: plan.concurrency,
    connections: plan.connections,
    rps: plan.rps,
    timeout: plan.timeoutMs,
    client: '@grpc/grpc-js',
  };
  process.stderr.write(
    `${plan.name}: ${plan.total === null ? `${plan.durationMs} ms` : `${plan.total} calls`}, ${plan.concurrency} callers on ${plan.connections} connections, ${plan.rps === null ? 'closed loop' : `open loop at ${plan.rps}/s`} -> ${plan.host}\n`,
  );
  let result: LoadtestOutcome['result'];
  let pgbench: PgbenchBaseline | null = null;
  if (cli.pgbench) {
    process.stderr.write(`pgbench baseline: ${plan.concurrency} clients…\n`);
    pgbench = await measurePgbench(
      env.databaseUrl,
      plan.concurrency,
      Math.max(1, Math.round((plan.durationMs ?? 10_000) / 1000)),
    );
  }
  try {
    const run = await drive({
      plan,
      method,
      clients,
      options,
      ...(cli.quiet
        ? {}
        : {
            onProgress: (p) =>
              process.stderr.write(
                `[${(p.elapsedMs / 1000).toFixed(1)}s] ${p.count} done, ${p.failed} failed, ${(p.count / (p.elapsedMs / 1000)).toFixed(0)}/s, p99 ${(p.p99Ns / 1e6).toFixed(2)} ms\n`,
              ),
          }),
      ...(lag === null
        ? {}
        : { onSuccess: (req, res) => lag.tracker.onReserved(req as ReserveStockRequest, res as ReserveStockResponse) }),
    });
    result = run.result;
    if (lag !== null) result.commitToRedisLag = await lag.tracker.finish(10_000);
    if (pgbench !== null) {
      const okPerSecond = (result.statusCodeDistribution.OK ?? 0) / (result.total / 1e9);
      result.baseline = { ...pgbench, okPerSecond, ratio: okPerSecond / pgbench.pgbenchTps };
    }
  } finally {
    for (const c of clients) c.close();
    lag?.redis.disconnect();
  }
  const extra =
    result.commitToRedisLag === undefined
      ? []
      : (() => {
          const l = result.commitToRedisLag;
          const m = (ns: number) => `${(ns / 1e6).toFixed(2)} ms`;
          return [
            '',
            'Commit -> Redis lag:',
            `  measured ${l.measured}, not visible after 10 s ${l.pending}`,
            `  p50 ${m(l.p50Ns)}  p95 ${m(l.p95Ns)}  p99 ${m(l.p99Ns)}  max ${m(l.maxNs)}`,
          ];
        })();
  if (result.baseline !== undefined) {
    const b = result.baseline;
    extra.push(
      '',
      'Baseline (same run):',
      `  pgbench single-row inserts, ${b.concurrency} clients, ${b.seconds} s: ${b.pgbenchTps.toFixed(0)} tps`,
      `  successful calls/s ${b.okPerSecond.toFixed(1)}, ratio ${b.ratio.toFixed(3)}`,
    );
  }
  const missed = missedBudgets(result, cli.budget);
  out(
    formatSummary(result, [
      ...extra,
      ...(missed.length === 0 ? [] : ['', 'Budgets missed:', ...missed.map((s) => `  ${s}`)]),
    ]),
  );
  const file =
    cli.output ??
    path.join(
      'loadtest',
      'results',
      `${path.basename(cli.file, '.json')}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  out(`\nresults: ${file}\n`);
  return { result, missed, file };
};
