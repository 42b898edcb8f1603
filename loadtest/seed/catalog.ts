// The catalog (products with their packaging units) and the location tree, as
// plain versioned rows in the tables the core reads them from. Loaded only when
// the schema has them (the catalog migration), so the seed also works on a
// ledger without a catalog.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import { HOT_SKU, locationTree, skuId } from './layout.js';
import { OPERATOR, copyField } from './rows.js';
import type pg from 'pg';
import type { SeedOptions } from './layout.js';

/** Packaging every seeded product comes in, in base units. */
export const UNITS = [
  { name: 'box', baseUnits: 12 },
  { name: 'pallet', baseUnits: 480 },
] as const;

export const hasCatalog = async (client: pg.ClientBase): Promise<boolean> => {
  const { rows } = await client.query<{ ok: boolean }>(
    "select to_regclass('products') is not null and to_regclass('locations') is not null as ok",
  );
  return rows[0]?.ok === true;
};

const BATCH = 50_000;

function* productLines(o: SeedOptions, tenantId: string, at: string): Generator<string> {
  const units = JSON.stringify(UNITS);
  let chunk = '';
  for (let n = -1; n < o.skus; n++) {
    const sku = n < 0 ? HOT_SKU : skuId(n);
    chunk +=
      [tenantId, sku, n < 0 ? 'Hot product' : `Product ${n}`, 'unit', units, '1', at, OPERATOR]
        .map(copyField)
        .join('\t') + '\n';
    if ((n + 2) % BATCH === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

export const loadCatalog = async (
  client: pg.ClientBase,
  o: SeedOptions,
  tenantId: string,
  at: Date,
): Promise<{ products: number; locations: number }> => {
  const iso = at.toISOString();
  await client.query('begin');
  try {
    await pipeline(
      Readable.from(productLines(o, tenantId, iso)),
      client.query(
        copyStreams.from(
          'copy products (tenant_id, sku, name, base_unit, units, version, updated_at, updated_by) from stdin',
        ),
      ),
    );
    const tree = locationTree(o);
    const text = tree
      .map((l) => [tenantId, l.id, l.name, l.kind, l.parentId, '1', iso, OPERATOR].map(copyField).join('\t') + '\n')
      .join('');
    await pipeline(
      Readable.from([text]),
      client.query(
        copyStreams.from(
          'copy locations (tenant_id, location_id, name, kind, parent_id, version, updated_at, updated_by) from stdin',
        ),
      ),
    );
    await client.query('commit');
    return { products: o.skus + 1, locations: tree.length };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
};
