// Versioned schema migrations, one list per part (core, relay, consumers, webhooks-out, marketplace):
// each part owns its tables. Applied under one advisory lock per database, so several processes
// starting at once apply each step exactly once, whichever parts they run.
import { createPool, ensureDatabase } from './pool.js';
import type pg from 'pg';
import type { Logger } from 'pino';

export type Migration = { version: number; name: string; sql: string };

export type Schema = {
  part: string;
  migrations: readonly Migration[];
  /**
   * Before each part owned its tables, one numbered list held them all. A database migrated then
   * records those numbers; this maps each one that created this part's tables to the part's version.
   */
  legacy?: Readonly<Record<number, number>>;
};

const LOCK_KEY = 0x5170c4; // arbitrary, constant: serialises migrators across processes

const hasColumn = async (c: pg.ClientBase, table: string, column: string): Promise<boolean> =>
  (
    await c.query('select 1 from information_schema.columns where table_name = $1 and column_name = $2', [
      table,
      column,
    ])
  ).rowCount === 1;

const tableExists = async (c: pg.ClientBase, table: string): Promise<boolean> =>
  (await c.query('select to_regclass($1) is not null as exists', [table])).rows[0]?.exists === true;

/** The single-list table of old becomes schema_migrations_legacy; the per-part table replaces it. */
const upgradeLegacyTable = async (c: pg.ClientBase): Promise<void> => {
  if ((await tableExists(c, 'schema_migrations')) && !(await hasColumn(c, 'schema_migrations', 'part'))) {
    await c.query('alter table schema_migrations rename to schema_migrations_legacy');
    await c.query(
      'alter table schema_migrations_legacy rename constraint schema_migrations_pkey to schema_migrations_legacy_pkey',
    );
  }
  await c.query(`create table if not exists schema_migrations (
    part text not null, version integer not null, name text not null,
    applied_at timestamptz not null default now(), primary key (part, version))`);
};

const adoptLegacy = async (c: pg.ClientBase, schema: Schema): Promise<void> => {
  const pairs = Object.entries(schema.legacy ?? {});
  if (pairs.length === 0 || !(await tableExists(c, 'schema_migrations_legacy'))) return;
  await c.query(
    `insert into schema_migrations (part, version, name)
     select $1, m.version, 'adopted from legacy version ' || l.version
     from unnest($2::int[], $3::int[]) as m(legacy, version)
     join schema_migrations_legacy l on l.version = m.legacy
     on conflict do nothing`,
    [schema.part, pairs.map(([legacy]) => Number(legacy)), pairs.map(([, version]) => version)],
  );
};

/** Applies a part's missing migrations in one transaction; returns the versions it applied. */
export const applyMigrations = async (pool: pg.Pool, schema: Schema): Promise<number[]> => {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await upgradeLegacyTable(client);
    await adoptLegacy(client, schema);
    const { rows } = await client.query<{ version: number }>('select version from schema_migrations where part = $1', [
      schema.part,
    ]);
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of schema.migrations) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('insert into schema_migrations (part, version, name) values ($1, $2, $3)', [
        schema.part,
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('commit');
    return applied;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
};

/** Creates the database when missing and applies each part's migrations; safe from several processes at once. */
export const prepareDatabase = async (databaseUrl: string, schemas: readonly Schema[], log?: Logger): Promise<void> => {
  await ensureDatabase(databaseUrl);
  const pool = createPool({ databaseUrl, max: 1, applicationName: 'stockmind-migrate' });
  try {
    for (const schema of schemas) {
      const applied = await applyMigrations(pool, schema);
      if (applied.length > 0) log?.info({ part: schema.part, applied }, 'migrations applied');
    }
  } finally {
    await pool.end();
  }
};
