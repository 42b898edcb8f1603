// `npm run bench:edge`: GET /v1/availability through the REST edge, against the
// same query sent straight to the core's Connect JSON endpoint in the same run
// (the baseline), both driven by autocannon over HTTP/1.1 keep-alive. Two key
// patterns: one hot SKU (what a sale page does; concurrent identical reads are
// shared at the edge) and SKUs spread at random over the stocked ones.
import { createRequire } from 'node:module';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { DEVELOPMENT_JWT_SECRET, loadConfig } from '../../platform/config.js';
import { signToken } from '../../platform/auth/tokens.js';
import { startStack } from './stack.js';

type AutocannonResult = {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
};
type AutocannonRequest = { path: string; body?: string };
type AutocannonOptions = {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  connections: number;
  duration: number;
  requests?: { setupRequest: (r: AutocannonRequest) => AutocannonRequest }[];
};
const autocannon = createRequire(import.meta.url)('autocannon') as (o: AutocannonOptions) => Promise<AutocannonResult>;

const log = (line: string) => process.stderr.write(`${line}\n`);

const SKUS = 200;

type Row = {
  target: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
};

const measure = async (target: string, o: AutocannonOptions): Promise<Row> => {
  const r = await autocannon(o);
  return {
    target,
    connections: o.connections,
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
};

const main = async () => {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '10,50' } },
  });
  const seconds = Number(values.seconds);
  const connectionsList = values.connections.split(',').map(Number);
  if (!(seconds > 0) || connectionsList.some((c) => !Number.isInteger(c) || c < 1))
    throw new Error('usage: npm run bench:edge -- [--seconds N] [--connections 10,50]');

  // The rate limits would otherwise be what is measured; the pool is the production default.
  const stack = await startStack({
    label: 'edgebench',
    serverUrl: loadConfig().databaseUrl,
    env: { STOCKMIND_PG_POOL_MAX: '10', EDGE_RATE_LIMIT_TENANT_RPS: '1000000', EDGE_RATE_LIMIT_IP_RPS: '1000000' },
  });
  try {
    const token = await signToken(
      DEVELOPMENT_JWT_SECRET,
      { tenant: 'bench', sub: 'bench', roles: ['admin'], locations: [], channels: [] },
      3600,
    );
    const authorization = `Bearer ${token}`;
    const { grpc } = stack;
    const headers = { authorization };
    await grpc.upsertLocation({ locationId: 'W1', name: 'W1', kind: LocationKind.WAREHOUSE }, { headers });
    const skus = Array.from({ length: SKUS }, (_, i) => `SKU-B${i}`);
    for (const [i, sku] of skus.entries()) {
      await grpc.upsertProduct({ sku, name: 'bench item', baseUnit: 'unit' }, { headers });
      await grpc.receiveStock({ movementId: `bench-recv-${i}`, sku, locationId: 'W1', quantity: 50n }, { headers });
    }
    // Measure the Redis path both ways: wait until the projection holds the last receipt.
    for (let i = 0; ; i++) {
      const { levels } = await grpc.queryStock(
        { keys: [{ sku: skus.at(-1) ?? '', locationId: 'W1' }], consistency: Consistency.EVENTUAL },
        { headers },
      );
      if (levels[0]?.available === 50n) break;
      if (i > 100) throw new Error('the availability view never caught up');
      await new Promise((r) => setTimeout(r, 100));
    }
    const random = () => skus[Math.floor(Math.random() * skus.length)] ?? 'SKU-B0';
    const edge = (spread: boolean): AutocannonOptions => ({
      url: `${stack.edgeUrl}/v1/availability/SKU-B0?location=W1`,
      method: 'GET',
      headers,
      connections: 1,
      duration: seconds,
      ...(spread
        ? {
            requests: [
              { setupRequest: (r: AutocannonRequest) => ({ ...r, path: `/v1/availability/${random()}?location=W1` }) },
            ],
          }
        : {}),
    });
    const queryBody = (sku: string) => JSON.stringify({ keys: [{ sku, locationId: 'W1' }] });
    const core = (spread: boolean): AutocannonOptions => ({
      url: `${stack.core.url}/stockmind.inventory.v1.InventoryService/QueryStock`,
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: queryBody('SKU-B0'),
      connections: 1,
      duration: seconds,
      ...(spread
        ? { requests: [{ setupRequest: (r: AutocannonRequest) => ({ ...r, body: queryBody(random()) }) }] }
        : {}),
    });
    await measure('warm-up', { ...edge(true), duration: 2, connections: 10 });
    const rows: Row[] = [];
    for (const connections of connectionsList) {
      for (const spread of [false, true]) {
        const keys = spread ? `${SKUS} SKUs at random` : 'one hot SKU';
        log(`connections ${connections}, ${keys}: core Connect JSON (baseline), then REST edge, ${seconds} s each`);
        rows.push(await measure(`core QueryStock, Connect JSON (baseline), ${keys}`, { ...core(spread), connections }));
        rows.push(await measure(`REST GET /v1/availability, ${keys}`, { ...edge(spread), connections }));
      }
    }
    const lines = [
      '| target | connections | req/s | p50 ms | p99 ms | non-2xx | errors | ratio to baseline |',
      '|---|---|---|---|---|---|---|---|',
    ];
    for (let i = 0; i < rows.length; i += 2) {
      const [base, viaEdge] = [rows[i], rows[i + 1]];
      if (base === undefined || viaEdge === undefined) continue;
      for (const r of [base, viaEdge]) {
        lines.push(
          `| ${r.target} | ${r.connections} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r === base ? '1.00' : (viaEdge.rps / base.rps).toFixed(2)} |`,
        );
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    await mkdir('loadtest/results', { recursive: true });
    const file = `loadtest/results/edge-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    await writeFile(
      file,
      JSON.stringify(
        { at: new Date().toISOString(), seconds, loadavg: os.loadavg(), cpus: os.cpus().length, rows },
        null,
        2,
      ),
    );
    log(`raw results: ${file}`);
  } finally {
    await stack.stop();
  }
};

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`bench:edge: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
