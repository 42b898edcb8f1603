// Start-up against a real Postgres: several processes starting at once create
// the database and apply each migration exactly once.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, ensureDatabase, quoteIdent } from '../../../platform/postgres/pool.js';
import { MIGRATIONS, migrate } from './migrations.js';

const SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const admin = async <T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> => {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
};

const created: string[] = [];
const pools: pg.Pool[] = [];

/** A database name nobody uses yet; dropped after the spec. */
const freshName = (label: string): string => {
  const name = `sm_test_store_${label}_${randomBytes(3).toString('hex')}`;
  created.push(name);
  return name;
};

const urlOf = (name: string): string => {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
};

const databaseExists = async (name: string): Promise<boolean> =>
  (await admin('select 1 from pg_database where datname = $1', [name])).length === 1;

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  for (const name of created) await admin(`drop database if exists ${quoteIdent(name)} with (force)`);
});

describe('migrate', () => {
  it('applies every migration exactly once when 4 processes migrate a new database at the same time', async () => {
    const name = freshName('migrate');
    await admin(`create database ${quoteIdent(name)}`);
    const starting = Array.from({ length: 4 }, (_, i) =>
      createPool({ databaseUrl: urlOf(name), max: 1, applicationName: `migrate-spec-${i}` }),
    );
    pools.push(...starting);

    const results = await Promise.allSettled(starting.map((p) => migrate(p)));

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const applied = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const all = MIGRATIONS.map((m) => m.version);
    expect(applied.filter((v) => v.length > 0)).toEqual([all]);
    expect(applied.filter((v) => v.length === 0)).toHaveLength(3);

    const pool = starting[0]!;
    const { rows } = await pool.query<{ version: number; n: string }>(
      'select version, count(*) over (partition by version) as n from schema_migrations order by version',
    );
    expect(rows.map((r) => r.version)).toEqual(all);
    expect(rows.filter((r) => r.version === 1)).toEqual([{ version: 1, n: '1' }]);
    // The schema is usable: the tables of version 1 exist.
    await expect(pool.query('select count(*) from streams, events, idempotency_keys')).resolves.toBeDefined();

    expect(await Promise.all(starting.map((p) => migrate(p)))).toEqual([[], [], [], []]);
    expect((await pool.query('select 1 from schema_migrations')).rowCount).toBe(all.length);
  });
});

describe('ensureDatabase', () => {
  it('creates a missing database', async () => {
    const name = freshName('ensure');
    expect(await databaseExists(name)).toBe(false);
    await ensureDatabase(urlOf(name));
    expect(await databaseExists(name)).toBe(true);
    await expect(ensureDatabase(urlOf(name))).resolves.toBeUndefined();
  });

  it('succeeds for every one of 4 processes creating the same new database at once', async () => {
    const name = freshName('ensure_race');
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => ensureDatabase(urlOf(name))));
    expect(results.filter((r) => r.status === 'rejected').map((r) => String(r.reason))).toEqual([]);
    expect(await databaseExists(name)).toBe(true);
  });
});
