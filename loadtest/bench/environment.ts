// What every bench runs on: a fresh database and namespace, a real core (or the whole stack), gRPC
// clients, a seeded catalog, and the closed loop that measures calls.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { loadConfig } from '../../platform/config.js';
import { signToken } from '../../platform/auth/tokens.js';
import { dropDatabase, ensureDatabase } from '../../platform/postgres/pool.js';
import { createGrpcClient } from '../runner/grpcClient.js';
import { freePort, startCoreProcess } from './processes.js';
import { ms, summarize } from './stats.js';
import type { GrpcClient } from '../runner/grpcClient.js';
import type { Summary } from './stats.js';

export const m = InventoryService.method;
export const log = (line: string) => process.stderr.write(`${line}\n`);

export type Options = { seconds: number; concurrency: number[]; connections: number; skus: number; rate: number };

/** Closed loop: `concurrency` callers, each sending its next request when the previous one answered. */
export const closedLoop = async (
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

export type Env = {
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
export const environment = async (opts: Options, command: 'core' | 'start', withGrpcJs = false): Promise<Env> => {
  const config = loadConfig();
  const runId = randomBytes(3).toString('hex');
  const dbName = `sm_bench_${runId}`;
  const databaseUrl = new URL(config.databaseUrl);
  databaseUrl.pathname = `/${dbName}`;
  const analyticsUrl = new URL(config.databaseUrl);
  analyticsUrl.pathname = `/${dbName}_analytics`;
  const namespace = `bench-${runId}`;
  const grpcJsPort = await freePort();
  await ensureDatabase(databaseUrl.toString());
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
      await dropDatabase(databaseUrl.toString());
      await dropDatabase(analyticsUrl.toString());
    },
  };
};

export const seed = async (env: Env, skus: number): Promise<void> => {
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

/** Seeds, then gives the read model time to catch up (the read benches measure the Redis view). */
export const seedForReads = async (env: Env, skus: number): Promise<void> => {
  await seed(env, skus);
  log('waiting for the read model to catch up…');
  await new Promise((r) => setTimeout(r, 3_000));
};

/** The n-th call's 10 keys, walking through the seeded SKUs. */
export const tenKeys = (n: number, skus: number) =>
  Array.from({ length: 10 }, (_, i) => ({ sku: `SKU-${(n * 10 + i) % skus}`, locationId: 'W1' }));

export const reserveCall =
  (runId: string, prefix: string, sku: (n: number) => string) => (client: GrpcClient, n: number) =>
    client.unary(m.reserveStock, {
      reservationId: `${prefix}-${runId}-${n}`,
      channel: Channel.ECOMMERCE,
      lines: [{ sku: sku(n), locationId: 'W1', quantity: 1n }],
    });

export type Row = Summary & { scenario: string; concurrency: number; baseline: number; ratio: number };

export const table = (title: string, baselineName: string, rows: Row[]): string => {
  const lines = rows.map((s) => {
    const errs =
      Object.entries(s.errors)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ') || '0';
    return `| ${s.scenario} | ${s.concurrency} | ${s.rps.toFixed(0)} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${errs} | ${s.baseline.toFixed(0)} | ${s.ratio.toFixed(2)} |`;
  });
  return `\n${title}\n| scenario | concurrency | calls/s | p50 ms | p95 ms | p99 ms | errors | ${baselineName} | ratio |\n|---|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n`;
};
