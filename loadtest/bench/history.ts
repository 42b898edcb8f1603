// `npm run bench:history`: GetStockAt on one 100,000-event stream at random instants, and a
// region-level QueryStock over 300 locations, each beside a baseline measured in the same run
// (QueryStock STRONG of the same key; a single-location QueryStock), on a fresh database that is
// dropped afterwards. The long stream is built by ./hotStream.ts.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { TimeBasis } from '../../gen/stockmind/inventory/v1/history_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { loadConfig } from '../../platform/config.js';
import { signToken } from '../../platform/auth/tokens.js';
import { createPool, quoteIdent } from '../../platform/postgres/pool.js';
import { readStockItems } from '../../core/src/store/eventStore.js';
import { levelsRecordedAt } from '../../core/src/store/history.js';
import { parseWireEventType } from '../../contracts/eventTypes.js';
import { createGrpcClient } from '../runner/grpcClient.js';
import { startCoreProcess } from './processes.js';
import { buildHotStream, rng } from './hotStream.js';
import { ms, summarize } from './stats.js';
import { evolve, initialState } from '../../core/src/domain/stock/stockItem.js';
import type { StockItemEvent } from '../../core/src/domain/stock/stockItem.js';
import type { GrpcClient } from '../runner/grpcClient.js';
import type { Summary } from './stats.js';

const m = InventoryService.method;
const log = (line: string) => process.stderr.write(`${line}\n`);
const TENANT = 'bench';
const HOT = { sku: 'SKU-HIST', locationId: 'W-HOT' };

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    calls: { type: 'string', default: '2000' },
    stores: { type: 'string', default: '300' },
  },
});
const EVENTS = Number(values.events);
const CALLS = Number(values.calls);
const STORES = Number(values.stores);
if (![EVENTS, CALLS, STORES].every((n) => Number.isInteger(n) && n > 0))
  throw new Error('usage: npm run bench:history -- [--events N] [--calls N] [--stores N]');

const random = rng(4471);

/** Runs the calls of each named scenario in turn, round after round, so noise hits all alike. */
const interleaved = async (
  rounds: number,
  scenarios: Record<string, () => Promise<unknown>>,
): Promise<Record<string, Summary>> => {
  const lat: Record<string, number[]> = Object.fromEntries(Object.keys(scenarios).map((k) => [k, []]));
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    for (const [name, call] of Object.entries(scenarios)) {
      const t0 = process.hrtime.bigint();
      await call();
      lat[name]?.push(Number(process.hrtime.bigint() - t0));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, summarize(v, {}, seconds)]));
};

const row = (name: string, s: Summary, base: Summary) =>
  `| ${name} | ${s.ok} | ${ms(s.p50)} | ${ms(s.p99)} | ${(s.p50 / base.p50).toFixed(2)} | ${(s.p99 / base.p99).toFixed(2)} |`;
const header = (title: string) =>
  `\n${title}\n| call | n | p50 ms | p99 ms | p50 ratio | p99 ratio |\n|---|---|---|---|---|---|`;

const main = async () => {
  const config = loadConfig();
  const runId = randomBytes(3).toString('hex');
  const dbName = `sm_bench_history_${runId}`;
  const adminUrl = new URL(config.databaseUrl);
  adminUrl.pathname = '/postgres';
  const dbUrl = new URL(config.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`create database ${quoteIdent(dbName)}`);
  let core: Awaited<ReturnType<typeof startCoreProcess>> | undefined;
  let client: GrpcClient | undefined;
  const pool = createPool({
    databaseUrl: dbUrl.toString(),
    max: 4,
    applicationName: 'bench-history',
    statementTimeoutMs: 120_000,
  });
  try {
    core = await startCoreProcess({
      DATABASE_URL: dbUrl.toString(),
      STOCKMIND_NAMESPACE: `bench-history-${runId}`,
      STOCKMIND_PG_POOL_MAX: '4',
    });
    const token = await signToken(
      config.jwtSecret,
      { tenant: TENANT, sub: 'bench', roles: ['admin'], locations: [], channels: [] },
      3600,
    );
    const c = createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token });
    client = c;

    log(`registering a region of ${STORES} stores…`);
    await c.unary(m.upsertProduct, { sku: HOT.sku, name: HOT.sku, baseUnit: 'unit' });
    await c.unary(m.upsertProduct, { sku: 'SKU-R', name: 'SKU-R', baseUnit: 'unit' });
    await c.unary(m.upsertLocation, { locationId: HOT.locationId, name: HOT.locationId, kind: LocationKind.WAREHOUSE });
    await c.unary(m.upsertLocation, { locationId: 'R-ALL', name: 'All stores', kind: LocationKind.REGION });
    const stores = Array.from({ length: STORES }, (_, i) => `S-${String(i).padStart(3, '0')}`);
    for (const s of stores)
      await c.unary(m.upsertLocation, { locationId: s, name: s, kind: LocationKind.STORE, parentId: 'R-ALL' });
    for (const s of stores)
      await c.unary(m.receiveStock, { movementId: `r-${s}`, sku: 'SKU-R', locationId: s, quantity: 20n });

    log(`building one stream of ${EVENTS} events…`);
    const { fromMs, toMs } = await buildHotStream(pool, { tenant: TENANT, ...HOT, events: EVENTS }, random, log);
    const instant = () => fromMs + Math.floor(random() * (toMs - fromMs));
    const hotKey = [{ sku: HOT.sku, locationId: HOT.locationId }];
    const atPb = () => timestampFromMs(instant());

    const grpcScenarios = {
      'QueryStock STRONG (baseline)': () => c.unary(m.queryStock, { keys: hotKey, consistency: Consistency.STRONG }),
      'GetStockAt, recorded basis': () => c.unary(m.getStockAt, { keys: hotKey, at: atPb() }),
      'GetStockAt, occurred basis': () =>
        c.unary(m.getStockAt, { keys: hotKey, at: atPb(), basis: TimeBasis.OCCURRED }),
    };
    const regionScenarios = {
      'QueryStock STRONG, one store (baseline)': () =>
        c.unary(m.queryStock, { keys: [{ sku: 'SKU-R', locationId: 'S-000' }], consistency: Consistency.STRONG }),
      [`QueryStock STRONG, region of ${STORES} stores`]: () =>
        c.unary(m.queryStock, { keys: [{ sku: 'SKU-R', locationId: 'R-ALL' }], consistency: Consistency.STRONG }),
      [`GetStockAt, region of ${STORES} stores`]: () =>
        c.unary(m.getStockAt, { keys: [{ sku: 'SKU-R', locationId: 'R-ALL' }], at: timestampFromMs(Date.now() - 1) }),
    };
    const storeScenarios = {
      'readStockItems, same key (baseline)': () => readStockItems(pool, TENANT, hotKey),
      'levelsRecordedAt, random instant': () => levelsRecordedAt(pool, TENANT, hotKey, instant() * 1000),
    };
    log('warming up…');
    await interleaved(100, { ...grpcScenarios, ...regionScenarios, ...storeScenarios });
    log(`measuring ${CALLS} rounds…`);
    const grpc = await interleaved(CALLS, grpcScenarios);
    const region = await interleaved(CALLS, regionScenarios);
    const store = await interleaved(CALLS, storeScenarios);

    // What the snapshots save: rebuilding the same answer by folding the whole stream.
    const replay = await interleaved(5, {
      'replay: read and fold every event': async () => {
        const { rows } = await pool.query<{ event_type: string; data: StockItemEvent['data'] }>(
          `select e.event_type, e.data from events e join streams s using (stream_id)
           where s.tenant_id = $1 and s.location_id = $2 and s.sku = $3 and e.recorded_at <= to_timestamp($4 / 1000.0) order by e.version`,
          [TENANT, HOT.locationId, HOT.sku, toMs],
        );
        return rows
          .map((r) => ({ type: parseWireEventType(r.event_type)?.domainType, data: r.data }) as StockItemEvent)
          .reduce(evolve, initialState());
      },
    });
    const [check] = await levelsRecordedAt(pool, TENANT, hotKey, toMs * 1000);
    if (check?.version !== EVENTS) throw new Error(`the stream answered version ${check?.version}, expected ${EVENTS}`);

    const g = grpc['QueryStock STRONG (baseline)'] as Summary;
    const r = region['QueryStock STRONG, one store (baseline)'] as Summary;
    const s = store['readStockItems, same key (baseline)'] as Summary;
    const out = [
      header(
        `GetStockAt on one ${EVENTS}-event stream at random instants over 180 days, over gRPC, one caller (baseline: QueryStock STRONG of the same key, same run)`,
      ),
      ...Object.entries(grpc).map(([k, v]) => row(k, v, g)),
      header(
        `Region-level QueryStock over ${STORES} stores, over gRPC, one caller (baseline: a single-location QueryStock STRONG, same run)`,
      ),
      ...Object.entries(region).map(([k, v]) => row(k, v, r)),
      header('In the database: the store functions, in process (baseline: the inline snapshot read of the same key)'),
      ...Object.entries(store).map(([k, v]) => row(k, v, s)),
      ...Object.entries(replay).map(([k, v]) => row(k, v, s)),
      '',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    client?.close();
    await core?.stop();
    await pool.end();
    await admin.query(`drop database if exists ${quoteIdent(dbName)} with (force)`);
    await admin.end();
    log(`dropped ${dbName}`);
  }
};

await main();
