// The same-run baseline for write scenarios: pgbench inserting single rows
// (one autocommit INSERT per transaction) into the core's database at the same
// concurrency, for as long as the run, just before it.
import pg from 'pg';
import { pgbenchTps } from '../bench/pgbench.js';

export type PgbenchBaseline = { pgbenchTps: number; concurrency: number; seconds: number };

export const measurePgbench = async (
  databaseUrl: string,
  concurrency: number,
  seconds: number,
): Promise<PgbenchBaseline> => {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      'create table if not exists bench_baseline (id bigint generated always as identity primary key, tenant_id text, payload jsonb, created_at timestamptz default now())',
    );
    return { pgbenchTps: await pgbenchTps(databaseUrl, concurrency, seconds), concurrency, seconds };
  } finally {
    await db.query('drop table if exists bench_baseline').catch(() => undefined);
    await db.end();
  }
};
