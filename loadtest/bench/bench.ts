// `stockmind bench reserve|query|lag|servers|telemetry`: figures measured against real processes
// and a fresh database, each next to a baseline measured in the same run, so
// they survive a noisy, shared machine. One file per bench; this one parses and dispatches.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { environment } from './environment.js';
import { benchLag } from './lag.js';
import { benchQuery } from './query.js';
import { benchReserve } from './reserve.js';
import { benchServers } from './servers.js';
import { benchTelemetry } from './telemetry.js';
import type { Options } from './environment.js';

const USAGE =
  'usage: stockmind bench reserve|query|lag|servers|telemetry [--seconds N] [--concurrency 1,8,32] [--connections N] [--skus N] [--rate N]';

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
  if (!['reserve', 'query', 'lag', 'servers', 'telemetry'].includes(scenario)) throw new Error(USAGE);
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

export const runBench = async (args: string[]): Promise<void> => {
  const { scenario, opts } = parse(args);
  const env = await environment(opts, scenario === 'reserve' ? 'core' : 'start', scenario === 'servers');
  try {
    const benches = {
      reserve: benchReserve,
      query: benchQuery,
      lag: benchLag,
      servers: benchServers,
      telemetry: benchTelemetry,
    };
    const run = benches[scenario as keyof typeof benches];
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
