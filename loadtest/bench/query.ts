// `bench query`: QueryStock eventual (Redis) against strong (the ledger) in the same run.
import { Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { closedLoop, log, m, seedForReads, tenKeys, table } from './environment.js';
import type { GrpcClient } from '../runner/grpcClient.js';
import type { Env, Options, Row } from './environment.js';

/** QueryStock of 10 keys: eventual (Redis) against strong (ledger) in the same run. */
export const benchQuery = async (env: Env, opts: Options): Promise<Row[]> => {
  await seedForReads(env, opts.skus);
  const keys = (n: number) => tenKeys(n, opts.skus);
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
