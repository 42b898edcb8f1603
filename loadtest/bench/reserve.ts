// `bench reserve`: ReserveStock on distinct SKUs and on one hot SKU, against pgbench in the same run.
import { closedLoop, log, reserveCall, seed, table } from './environment.js';
import { pgbenchTps } from './pgbench.js';
import type { Env, Options, Row } from './environment.js';

export const benchReserve = async (env: Env, opts: Options): Promise<Row[]> => {
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
