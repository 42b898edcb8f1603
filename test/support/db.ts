// Each spec file gets its own database, created fresh and dropped after.
import { randomBytes } from 'node:crypto';
import { createPool, dropDatabase, ensureDatabase } from '../../platform/postgres/pool.js';
import { applyMigrations } from '../../platform/postgres/migrate.js';
import { ALL_SCHEMAS } from '../../cli/schemas.js';
import type pg from 'pg';

export const SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type TestDatabase = { url: string; name: string; pool: pg.Pool; drop(): Promise<void> };

/** A new database named after the spec, migrated unless asked not to; `drop()` ends its pool and removes it. */
export const createTestDatabase = async (
  label: string,
  poolMax = 20,
  o: { migrated?: boolean } = {},
): Promise<TestDatabase> => {
  const name = `sm_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
  const url = Object.assign(new URL(SERVER_URL), { pathname: `/${name}` }).toString();
  await ensureDatabase(url);
  const pool = createPool({ databaseUrl: url, max: poolMax, applicationName: `test-${label}` });
  if (o.migrated !== false) for (const schema of ALL_SCHEMAS) await applyMigrations(pool, schema);
  return {
    url,
    name,
    pool,
    async drop() {
      await pool.end();
      await dropDatabase(url);
    },
  };
};
