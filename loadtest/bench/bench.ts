// `stockmind bench reserve|query|lag`: figures measured against real processes
// and a fresh database, each next to a baseline measured in the same run, so
// they survive a noisy, shared machine.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { loadConfig } from '../../platform/config.js';
import { signToken } from '../../platform/auth/tokens.js';
import { quoteIdent } from '../../platform/postgres/pool.js';
import { availabilityKey } from '../../contracts/names.js';
import { createRedis, redisReady } from '../../platform/redis.js';
import { createGrpcClient } from '../runner/grpcClient.js';
import { freePort, startCoreProcess } from './processes.js';
import { ms, summarize } from './stats.js';
import type { GrpcClient } from '../runner/grpcClient.js';
import type { Summary } from './stats.js';

const run = promisify(execFile);
const m = InventoryService.method;
const log = (line: string) => process.stderr.write(`${line}\n`);

type Options = { seconds: number; concurrency: number[]; connections: number; skus: number; rate: number };

const USAGE =
  'usage: stockmind bench reserve|query|lag|servers [--seconds N] [--concurrency 1,8,32] [--connections N] [--skus N] [--rate N]';

const parse = (args: string[]): { scenario: string; opts: Options } => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '1,8,32' },
      connections: { type: 'string', default: '4' },
      skus: { type: 'string', default: '5000' },
      rate: { type: 'string', default: '200' },
    },
  });
  const scenario = positionals[0] ?? '';
  if (!['reserve', 'query', 'lag', 'servers'].includes(scenario)) throw new Error(USAGE);
  const concurrency = values.concurrency.split(',').map(Number);
  const opts = {
    seconds: Number(values.seconds),
    concurrency,
    connections: Number(values.connections),
    skus: Number(values.skus),
    rate: Number(values.rate),
  };
  if (
    !(opts.seconds > 0) ||
    concurrency.some((c) => !Number.isInteger(c) || c < 1) ||
    !(opts.connections >= 1) ||
    !(opts.skus >= 1) ||
    !(opts.rate > 0)
  ) {
    throw new Error(`${USAGE}\n(all numbers must be positive)`);
  }
  return { scenario, opts };
};

/** Closed loop: `concurrency` callers, each sending its next request when the previous one answered. */
const closedLoop = async (
  clients: GrpcClient[],
  concurrency: number,
  seconds: number,
  call: (client: GrpcClient, n: number) => Promise<unknown>,
): Promise<Summary> => {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const stopAt = performance.now() + seconds * 1000;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const client = clients[w % clients.length] as GrpcClient;
      while (performance.now() < stopAt) {
        const n = next++;
        const t0 = process.hrtime.bigint();
        try {
          await call(client, n);
          latencies.push(Number(process.hrtime.bigint() - t0));
        } catch (err) {
          const code = String((err as { code?: unknown }).code ?? 'unknown');
          errors[code] = (errors[code] ?? 0) + 1;
        }
      }
    }),
  );
  return summarize(latencies, errors, (performance.now() - started) / 1000);
};

export const pgbenchTps = async (databaseUrl: string, concurrency: number, seconds: number): Promise<number> => {
  const script = `${os.tmpdir()}/stockmind-bench-${process.pid}.sql`;
  await writeFile(script, "insert into bench_baseline (tenant_id, payload) values ('bench', '{\"quantity\": 1}');\n");
  const { stdout } = await run('pgbench', [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(concurrency),
    '-j',
    String(Math.min(concurrency, 2)),
    '-T',
    String(Math.max(1, Math.round(seconds))),
    '-f',
    script,
    databaseUrl,
  ]);
  const found = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  if (found === null) throw new Error(`could not read pgbench output:\n${stdout}`);
  return Number(found[1]);
};

type Env = {
  clients: GrpcClient[];
  /** Clients of the grpc-js port (CORE_GRPC_PORT), for `servers`; empty otherwise. */
  grpcJsClients: GrpcClient[];
  corePid: number;
  databaseUrl: string;
  namespace: string;
  runId: string;
  close(): Promise<void>;
};

/** A fresh database and namespace, a real core (or the whole stack), and gRPC clients. */
const environment = async (opts: Options, command: 'core' | 'start', withGrpcJs = false): Promise<Env> => {
  const config = loadConfig();
  const runId = randomBytes(3).toString('hex');
  const dbName = `sm_bench_${runId}`;
  const adminUrl = new URL(config.databaseUrl);
  adminUrl.pathname = '/postgres';
  const databaseUrl = new URL(config.databaseUrl);
  databaseUrl.pathname = `/${dbName}`;
  const analyticsUrl = new URL(config.databaseUrl);
  analyticsUrl.pathname = `/${dbName}_analytics`;
  const namespace = `bench-${runId}`;
  const grpcJsPort = await freePort();
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`create database ${quoteIdent(dbName)}`);
  const core = await startCoreProcess(
    {
      DATABASE_URL: databaseUrl.toString(),
      ANALYTICS_DATABASE_URL: analyticsUrl.toString(),
      STOCKMIND_NAMESPACE: namespace,
      NODE_ENV: config.nodeEnv === 'production' ? 'production' : 'test',
      EDGE_PORT: String(await freePort()),
      WEBHOOK_PORT: String(await freePort()),
      ...(withGrpcJs ? { CORE_GRPC_PORT: String(grpcJsPort) } : {}),
    },
    30_000,
    command,
  );
  const token = await signToken(
    config.jwtSecret,
    { tenant: 'bench', sub: 'bench', roles: ['admin'], locations: [], channels: [] },
    3600,
  );
  const clients = Array.from({ length: opts.connections }, () =>
    createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token }),
  );
  const grpcJsClients = withGrpcJs
    ? Array.from({ length: opts.connections }, () =>
        createGrpcClient(InventoryService, `127.0.0.1:${grpcJsPort}`, { token }),
      )
    : [];
  const db = new pg.Client({ connectionString: databaseUrl.toString() });
  await db.connect();
  await db.query(
    'create table bench_baseline (id bigint generated always as identity primary key, tenant_id text, payload jsonb, created_at timestamptz default now())',
  );
  await db.end();
  return {
    clients,
    grpcJsClients,
    corePid: core.child.pid ?? 0,
    databaseUrl: databaseUrl.toString(),
    namespace,
    runId,
    async close() {
      for (const c of [...clients, ...grpcJsClients]) c.close();
      await core.stop();
      await admin.query(`drop database if exists ${quoteIdent(dbName)} with (force)`);
      await admin.query(`drop database if exists ${quoteIdent(`${dbName}_analytics`)} with (force)`);
      await admin.end();
    },
  };
};

const seed = async (env: Env, skus: number): Promise<void> => {
  log(`seeding ${skus} SKUs and one hot SKU…`);
  const client = env.clients[0] as GrpcClient;
  const receive = async (sku: string, quantity: bigint, id: string) => {
    await client.unary(m.upsertProduct, { sku, name: sku, baseUnit: 'unit' });
    await client.unary(m.receiveStock, { movementId: id, sku, locationId: 'W1', quantity });
  };
  await client.unary(m.upsertLocation, { locationId: 'W1', name: 'W1', kind: LocationKind.WAREHOUSE });
  await receive('HOT-1', 1_000_000_000n, 'seed-hot');
  for (let i = 0; i < skus; i += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, skus - i) }, (_, j) => receive(`SKU-${i + j}`, 1_000_000n, `seed-${i + j}`)),
    );
  }
};

const reserveCall = (runId: string, prefix: string, sku: (n: number) => string) => (client: GrpcClient, n: number) =>
  client.unary(m.reserveStock, {
    reservationId: `${prefix}-${runId}-${n}`,
    channel: Channel.ECOMMERCE,
    lines: [{ sku: sku(n), locationId: 'W1', quantity: 1n }],
  });

type Row = Summary & { scenario: string; concurrency: number; baseline: number; ratio: number };

const table = (title: string, baselineName: string, rows: Row[]): string => {
  const lines = rows.map((s) => {
    const errs =
      Object.entries(s.errors)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ') || '0';
    return `| ${s.scenario} | ${s.concurrency} | ${s.rps.toFixed(0)} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${errs} | ${s.baseline.toFixed(0)} | ${s.ratio.toFixed(2)} |`;
  });
  return `\n${title}\n| scenario | concurrency | calls/s | p50 ms | p95 ms | p99 ms | errors | ${baselineName} | ratio |\n|---|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n`;
};

const benchReserve = async (env: Env, opts: Options): Promise<Row[]> => {
  await seed(env, opts.skus);
  const rows: Row[] = [];
  for (const c of opts.concurrency) {
    log(`concurrency ${c}: pgbench baseline…`);
    const baseline = await pgbenchTps(env.databaseUrl, c, opts.seconds);
    log(`concurrency ${c}: ReserveStock, distinct SKUs…`);
    const distinct = await closedLoop(
      env.clients,
      c,
      opts.seconds,
      reserveCall(env.runId, `d${c}`, (n) => `SKU-${n % opts.skus}`),
    );
    log(`concurrency ${c}: ReserveStock, one hot SKU…`);
    const hot = await closedLoop(
      env.clients,
      c,
      opts.seconds,
      reserveCall(env.runId, `h${c}`, () => 'HOT-1'),
    );
    rows.push({ scenario: 'distinct SKUs', concurrency: c, ...distinct, baseline, ratio: distinct.rps / baseline });
    rows.push({ scenario: 'hot SKU', concurrency: c, ...hot, baseline, ratio: hot.rps / baseline });
  }
  process.stdout.write(
    table('ReserveStock (baseline: pgbench single-row inserts, same run, same server)', 'pgbench tps', rows),
  );
  return rows;
};

/** QueryStock of 10 keys: eventual (Redis) against strong (ledger) in the same run. */
const benchQuery = async (env: Env, opts: Options): Promise<Row[]> => {
  await seed(env, opts.skus);
  log('waiting for the read model to catch up…');
  await new Promise((r) => setTimeout(r, 3_000));
  const keys = (n: number) =>
    Array.from({ length: 10 }, (_, i) => ({ sku: `SKU-${(n * 10 + i) % opts.skus}`, locationId: 'W1' }));
  const query = (consistency: Consistency) => (client: GrpcClient, n: number) =>
    client.unary(m.queryStock, { keys: keys(n), consistency });
  const rows: Row[] = [];
  for (const c of opts.concurrency) {
    log(`concurrency ${c}: QueryStock strong…`);
    const strong = await closedLoop(env.clients, c, opts.seconds, query(Consistency.STRONG));
    log(`concurrency ${c}: QueryStock eventual…`);
    const eventual = await closedLoop(env.clients, c, opts.seconds, query(Consistency.EVENTUAL));
    rows.push({ scenario: 'strong (Postgres)', concurrency: c, ...strong, baseline: strong.rps, ratio: 1 });
    rows.push({
      scenario: 'eventual (Redis)',
      concurrency: c,
      ...eventual,
      baseline: strong.rps,
      ratio: eventual.rps / strong.rps,
    });
  }
  process.stdout.write(
    table('QueryStock, 10 keys per call (baseline: the strong read, same run)', 'strong calls/s', rows),
  );
  return rows;
};

/**
 * Commit -> visible in Redis: a steady stream of reservations at `--rate`
 * per second; for each, the time from the acknowledged commit until Redis
 * holds that stream version (polled every millisecond or so).
 */
const benchLag = async (env: Env, opts: Options): Promise<Row[]> => {
  await seed(env, opts.skus);
  const config = loadConfig();
  const redis = createRedis(config.redisUrl, { commandTimeoutMs: 1_000, name: 'bench-lag' });
  await redisReady(redis, 5_000);
  log('waiting for the read model to catch up with the seed…');
  const lastSeeded = availabilityKey(env.namespace, 'bench', 'W1', `SKU-${opts.skus - 1}`);
  const catchUp = performance.now();
  while ((await redis.hget(lastSeeded, 'version')) === null) {
    if (performance.now() - catchUp > 120_000) throw new Error('the read model did not catch up within 120 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const pending = new Map<string, { version: number; at: bigint }>();
  const lags: number[] = [];
  const errors: Record<string, number> = {};
  let stop = false;
  const poller = (async () => {
    while (!stop || pending.size > 0) {
      const entries = [...pending.entries()];
      if (entries.length > 0) {
        const pipeline = redis.pipeline();
        for (const [key] of entries) pipeline.hget(key, 'version');
        const results = (await pipeline.exec()) ?? [];
        const now = process.hrtime.bigint();
        entries.forEach(([key, want], i) => {
          if (Number(results[i]?.[1] ?? 0) >= want.version) {
            lags.push(Number(now - want.at));
            pending.delete(key);
          }
        });
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  const interval = 1000 / opts.rate;
  const started = performance.now();
  let n = 0;
  const inflight: Promise<void>[] = [];
  log(`lag: ${opts.rate} reservations/s for ${opts.seconds} s…`);
  while (performance.now() - started < opts.seconds * 1000) {
    const i = n++;
    const sku = `SKU-${i % opts.skus}`;
    const client = env.clients[i % env.clients.length] as GrpcClient;
    inflight.push(
      client
        .unary(m.reserveStock, {
          reservationId: `lag-${env.runId}-${i}`,
          channel: Channel.ECOMMERCE,
          lines: [{ sku, locationId: 'W1', quantity: 1n }],
        })
        .then(
          () => {
            // Seeding wrote version 1 of each SKU; its k-th reservation (k from 0) writes version k + 2.
            pending.set(availabilityKey(env.namespace, 'bench', 'W1', sku), {
              version: 2 + Math.floor(i / opts.skus),
              at: process.hrtime.bigint(),
            });
          },
          (err: unknown) => {
            const code = String((err as { code?: unknown }).code ?? 'unknown');
            errors[code] = (errors[code] ?? 0) + 1;
          },
        ),
    );
    const due = started + n * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inflight);
  const drainStart = performance.now();
  while (pending.size > 0 && performance.now() - drainStart < 30_000) await new Promise((r) => setTimeout(r, 10));
  stop = true;
  pending.clear();
  await poller;
  redis.disconnect();
  const s = summarize(lags, errors, opts.seconds);
  const row: Row = {
    scenario: `commit -> Redis at ${opts.rate}/s`,
    concurrency: opts.rate,
    ...s,
    baseline: 0,
    ratio: 0,
  };
  process.stdout.write(
    `\nCommit -> visible in Redis (availability projector), ${opts.rate} reservations/s for ${opts.seconds} s\n| writes measured | lag p50 ms | lag p95 ms | lag p99 ms | lag max ms | errors |\n|---|---|---|---|---|---|\n| ${s.ok} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${
      Object.entries(errors)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ') || '0'
    } |\n`,
  );
  return [row];
};

/** CPU seconds (user + system) a process has used so far, from /proc (Linux clock ticks of 10 ms). */
const cpuSecondsOf = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/**
 * The same calls against the Connect port and the grpc-js port of one core, alternating, with the
 * core's own CPU time per call: the cost of each server, independent of how busy the machine is.
 */
const benchServers = async (env: Env, opts: Options): Promise<Row[]> => {
  await seed(env, opts.skus);
  log('waiting for the read model to catch up…');
  await new Promise((r) => setTimeout(r, 3_000));
  const keys = (n: number) =>
    Array.from({ length: 10 }, (_, i) => ({ sku: `SKU-${(n * 10 + i) % opts.skus}`, locationId: 'W1' }));
  const calls: [string, (server: string) => (client: GrpcClient, n: number) => Promise<unknown>][] = [
    [
      'QueryStock eventual, 10 keys',
      () => (client, n) => client.unary(m.queryStock, { keys: keys(n), consistency: Consistency.EVENTUAL }),
    ],
    ['ReserveStock distinct SKUs', (server) => reserveCall(env.runId, `s-${server}`, (n) => `SKU-${n % opts.skus}`)],
  ];
  const rows: (Row & { cpuMsPerCall: number; server: string })[] = [];
  for (const [scenario, call] of calls) {
    for (const c of opts.concurrency) {
      const measured: Record<string, Row & { cpuMsPerCall: number; server: string }> = {};
      for (const [server, clients] of [
        ['connect-node', env.clients],
        ['grpc-js', env.grpcJsClients],
      ] as const) {
        log(`${scenario}, concurrency ${c}, ${server}…`);
        const cpu0 = cpuSecondsOf(env.corePid);
        const s = await closedLoop(clients, c, opts.seconds, call(`${server}-${c}`));
        const cpuMsPerCall = ((cpuSecondsOf(env.corePid) - cpu0) * 1000) / Math.max(1, s.ok);
        const base = measured['connect-node'];
        measured[server] = {
          scenario,
          server,
          concurrency: c,
          ...s,
          cpuMsPerCall,
          baseline: base?.rps ?? s.rps,
          ratio: base === undefined ? 1 : s.rps / base.rps,
        };
      }
      rows.push(measured['connect-node'] as (typeof rows)[number], measured['grpc-js'] as (typeof rows)[number]);
    }
  }
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.server} | ${r.concurrency} | ${r.rps.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.cpuMsPerCall.toFixed(2)} | ${r.ratio.toFixed(2)} |`,
  );
  process.stdout.write(
    `\nThe two servers of one core (baseline: the Connect port, same run)\n| call | server | concurrency | calls/s | p50 ms | p99 ms | core CPU ms/call | calls/s ratio |\n|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n`,
  );
  return rows;
};

export const runBench = async (args: string[]): Promise<void> => {
  const { scenario, opts } = parse(args);
  const env = await environment(opts, scenario === 'reserve' ? 'core' : 'start', scenario === 'servers');
  try {
    const run = { reserve: benchReserve, query: benchQuery, lag: benchLag, servers: benchServers }[
      scenario as 'reserve' | 'query' | 'lag' | 'servers'
    ];
    const rows = await run(env, opts);
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    process.stdout.write(`\nmachine: ${machine}; ${opts.connections} gRPC connections\n`);
    await mkdir('loadtest/results', { recursive: true });
    const file = `loadtest/results/${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    await writeFile(file, JSON.stringify({ scenario, machine, options: opts, rows }, null, 2));
    process.stdout.write(`results: ${file}\n`);
  } finally {
    await env.close();
  }
};
