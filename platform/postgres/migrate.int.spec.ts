// Per-part migrations against a real Postgres: parts starting together apply each step once, and a
// database migrated when one numbered list held every part's tables is adopted, not migrated again.
import { describe, expect, it } from 'vitest';
import { ALL_SCHEMAS } from '../../cli/schemas.js';
import { createTestDatabase } from '../../test/support/db.js';
import { createPool } from './pool.js';
import { applyMigrations, prepareDatabase } from './migrate.js';

const LEGACY_VERSIONS = [1, 2, 3, 4, 5, 6, 20];

describe('per-part migrations', () => {
  it('applies every part once when processes running different parts start at the same time', async () => {
    const db = await createTestDatabase('migrate_parts', 2, { migrated: false });
    try {
      const pools = ALL_SCHEMAS.map((_, i) => createPool({ databaseUrl: db.url, max: 1, applicationName: `p${i}` }));
      const applied = await Promise.all(ALL_SCHEMAS.map((schema, i) => applyMigrations(pools[i]!, schema)));
      await Promise.all(pools.map((p) => p.end()));
      expect(applied).toEqual(ALL_SCHEMAS.map((s) => s.migrations.map((m) => m.version)));
      const { rows } = await db.pool.query<{ part: string; n: string }>(
        'select part, count(*) as n from schema_migrations group by part order by part',
      );
      expect(rows).toEqual(
        ALL_SCHEMAS.map((s) => ({ part: s.part, n: String(s.migrations.length) })).sort((a, b) =>
          a.part < b.part ? -1 : 1,
        ),
      );
    } finally {
      await db.drop();
    }
  });

  it('adopts a database migrated by the single list of old: nothing is applied twice, no table is lost', async () => {
    const db = await createTestDatabase('migrate_legacy', 2, { migrated: false });
    try {
      // The old layout: every part's tables, and schema_migrations keyed by version alone.
      for (const schema of ALL_SCHEMAS) for (const m of schema.migrations) await db.pool.query(m.sql);
      await db.pool.query(`create table schema_migrations (
        version integer primary key, name text not null, applied_at timestamptz not null default now())`);
      await db.pool.query(`insert into schema_migrations (version, name) select v, 'old' from unnest($1::int[]) v`, [
        LEGACY_VERSIONS,
      ]);

      await prepareDatabase(db.url, ALL_SCHEMAS);

      const { rows } = await db.pool.query<{ part: string; version: number }>(
        'select part, version from schema_migrations order by part, version',
      );
      const expected = ALL_SCHEMAS.flatMap((s) => s.migrations.map((m) => ({ part: s.part, version: m.version })));
      expect(rows).toEqual(
        expected.sort((a, b) => (a.part === b.part ? a.version - b.version : a.part < b.part ? -1 : 1)),
      );
      const legacy = await db.pool.query<{ version: number }>(
        'select version from schema_migrations_legacy order by 1',
      );
      expect(legacy.rows.map((r) => r.version)).toEqual(LEGACY_VERSIONS);
      // A second start finds nothing to do.
      const pool = createPool({ databaseUrl: db.url, max: 1, applicationName: 'again' });
      try {
        for (const schema of ALL_SCHEMAS) expect(await applyMigrations(pool, schema)).toEqual([]);
      } finally {
        await pool.end();
      }
    } finally {
      await db.drop();
    }
  });
});
