// `bench servers`: the Connect port and the grpc-js port of one core, with the core's CPU per call.
import { readFileSync } from 'node:fs';
import { Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { closedLoop, log, m, reserveCall, seedForReads, tenKeys } from './environment.js';
import { ms } from './stats.js';
import type { GrpcClient } from '../runner/grpcClient.js';
import type { Env, Options, Row } from './environment.js';

/** CPU seconds (user + system) a process has used so far, from /proc (Linux clock ticks of 10 ms). */
export const cpuSecondsOf = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/**
 * The same calls against the Connect port and the grpc-js port of one core, alternating, with the
 * core's own CPU time per call: the cost of each server, independent of how busy the machine is.
 */
export const benchServers = async (env: Env, opts: Options): Promise<Row[]> => {
  await seedForReads(env, opts.skus);
  const keys = (n: number) => tenKeys(n, opts.skus);
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
