// `bench telemetry`: what tracing costs the core, and what the instrumentation costs with tracing
// off. Two `stockmind core` processes beside the seeded stack, on its database and read model, one
// with OTEL_* tracing on (OTLP to a port nothing listens on, so
// every span is made, batched and exported), alternating the same calls; each core's own CPU per
// call, the untraced one the baseline. Then the instrumentation a call passes with tracing off
// (metrics and null checks), timed in this process and set against that baseline.
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { rpcTelemetry } from '../../core/src/api/telemetry.js';
import { metricsObserver } from '../../core/src/app/observer.js';
import { loadConfig } from '../../platform/config.js';
import { signToken } from '../../platform/auth/tokens.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { createGrpcClient } from '../runner/grpcClient.js';
import { closedLoop, log, m, reserveCall, seedForReads, tenKeys } from './environment.js';
import { freePort, startCoreProcess } from './processes.js';
import { cpuSecondsOf } from './servers.js';
import { ms } from './stats.js';
import type { Env, Options, Row } from './environment.js';
import type { GrpcClient } from '../runner/grpcClient.js';

/** Nanoseconds per call of what every unary call runs through with tracing off. */
const untracedInstrumentationNs = (): number => {
  const telemetry = privateTelemetry();
  const rpc = rpcTelemetry(telemetry);
  const observer = metricsObserver(telemetry.metrics);
  const method = InventoryService.method.reserveStock;
  const once = () => {
    const call = rpc.begin(InventoryService, method, null);
    observer.batch(1, 0.1);
    observer.reservation('reserved', '', 'ECOMMERCE');
    observer.reads('redis', 10);
    call.end(0);
  };
  for (let i = 0; i < 20_000; i++) once();
  const n = 200_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) once();
  return Number(process.hrtime.bigint() - t0) / n;
};

export const benchTelemetry = async (env: Env, opts: Options): Promise<Row[]> => {
  await seedForReads(env, opts.skus);
  const config = loadConfig();
  const shared = { DATABASE_URL: env.databaseUrl, STOCKMIND_NAMESPACE: env.namespace };
  const untraced = await startCoreProcess(shared, 30_000, 'core');
  const traced = await startCoreProcess(
    { ...shared, OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}` },
    30_000,
    'core',
  );
  const token = await signToken(
    config.jwtSecret,
    { tenant: 'bench', sub: 'bench', roles: ['admin'], locations: [], channels: [] },
    3600,
  );
  const clientsOf = (port: number) =>
    env.clients.map(() => createGrpcClient(InventoryService, `127.0.0.1:${port}`, { token }));
  const cores = [
    ['tracing off', clientsOf(untraced.port), untraced.child.pid ?? 0],
    ['tracing on', clientsOf(traced.port), traced.child.pid ?? 0],
  ] as const;
  const calls: [string, (core: string) => (client: GrpcClient, n: number) => Promise<unknown>][] = [
    [
      'QueryStock eventual, 10 keys',
      () => (client, n) =>
        client.unary(m.queryStock, { keys: tenKeys(n, opts.skus), consistency: Consistency.EVENTUAL }),
    ],
    ['ReserveStock distinct SKUs', (core) => reserveCall(env.runId, `t-${core}`, (n) => `SKU-${n % opts.skus}`)],
  ];
  const rows: (Row & { core: string; cpuMsPerCall: number })[] = [];
  try {
    for (const [scenario, call] of calls) {
      for (const c of opts.concurrency) {
        let base: (typeof rows)[number] | undefined;
        for (const [core, clients, pid] of cores) {
          log(`${scenario}, concurrency ${c}, ${core}…`);
          const cpu0 = cpuSecondsOf(pid);
          const s = await closedLoop([...clients], c, opts.seconds, call(`${core.replace(' ', '-')}-${c}`));
          const cpuMsPerCall = ((cpuSecondsOf(pid) - cpu0) * 1000) / Math.max(1, s.ok);
          const row = {
            scenario,
            core,
            concurrency: c,
            ...s,
            cpuMsPerCall,
            baseline: base?.cpuMsPerCall ?? cpuMsPerCall,
            ratio: base === undefined ? 1 : cpuMsPerCall / base.cpuMsPerCall,
          };
          base ??= row;
          rows.push(row);
        }
      }
    }
  } finally {
    for (const [, clients] of cores) for (const client of clients) client.close();
    await Promise.all([untraced.stop(), traced.stop()]);
  }
  const ns = untracedInstrumentationNs();
  const cheapest = Math.min(...rows.filter((r) => r.core === 'tracing off').map((r) => r.cpuMsPerCall));
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.core} | ${r.concurrency} | ${r.rps.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.cpuMsPerCall.toFixed(3)} | ${r.ratio.toFixed(2)} |`,
  );
  process.stdout.write(
    `\nTracing on against off (baseline: the untraced core, same run)\n| call | core | concurrency | calls/s | p50 ms | p99 ms | core CPU ms/call | CPU ratio |\n|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n` +
      `\nWith tracing off, a call's instrumentation (call histogram, batch, reservation and read counters, span checks): ${(ns / 1000).toFixed(2)} µs = ${((ns / 1e6 / cheapest) * 100).toFixed(2)} % of the cheapest call's core CPU (${cheapest.toFixed(3)} ms)\n`,
  );
  return rows;
};
