// Catalog (products and their units) and network (the location tree) rows.
// Plain versioned rows, not event streams: they describe stock, they are not movements.
import type pg from 'pg';

export type UnitRow = { name: string; baseUnits: number };
export type ProductRow = {
  sku: string;
  name: string;
  baseUnit: string;
  units: UnitRow[];
  version: number;
  updatedAt: Date;
};
export type LocationKind = 'WAREHOUSE' | 'STORE' | 'REGION';
export type LocationRow = {
  locationId: string;
  name: string;
  kind: LocationKind;
  parentId: string;
  version: number;
  updatedAt: Date;
};

type Db = pg.Pool | pg.ClientBase;

const toProduct = (r: {
  sku: string;
  name: string;
  base_unit: string;
  units: UnitRow[];
  version: number;
  updated_at: Date;
}): ProductRow => ({
  sku: r.sku,
  name: r.name,
  baseUnit: r.base_unit,
  units: r.units,
  version: r.version,
  updatedAt: r.updated_at,
});

const toLocation = (r: {
  location_id: string;
  name: string;
  kind: LocationKind;
  parent_id: string;
  version: number;
  updated_at: Date;
}): LocationRow => ({
  locationId: r.location_id,
  name: r.name,
  kind: r.kind,
  parentId: r.parent_id,
  version: r.version,
  updatedAt: r.updated_at,
});

export const upsertProduct = async (
  db: Db,
  tenantId: string,
  p: Omit<ProductRow, 'version' | 'updatedAt'>,
  operator: string,
): Promise<ProductRow> => {
  const { rows } = await db.query({
    name: 'sm_product_upsert',
    text: `insert into products as p (tenant_id, sku, name, base_unit, units, version, updated_at, updated_by)
           values ($1, $2, $3, $4, $5, 1, clock_timestamp(), $6)
           on conflict (tenant_id, sku) do update
             set name = excluded.name, base_unit = excluded.base_unit, units = excluded.units,
                 version = p.version + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by
           returning sku, name, base_unit, units, version, updated_at`,
    values: [tenantId, p.sku, p.name, p.baseUnit, JSON.stringify(p.units), operator],
  });
  return toProduct(rows[0]);
};

export const readProducts = async (db: Db, tenantId: string, skus: string[]): Promise<Map<string, ProductRow>> => {
  const { rows } = await db.query({
    name: 'sm_products_read',
    text: 'select sku, name, base_unit, units, version, updated_at from products where tenant_id = $1 and sku = any($2::text[])',
    values: [tenantId, skus],
  });
  return new Map(rows.map((r) => [r.sku as string, toProduct(r)]));
};

/** A page in SKU order, after `afterSku` (exclusive). */
export const listProducts = async (
  db: Db,
  tenantId: string,
  afterSku: string,
  limit: number,
): Promise<ProductRow[]> => {
  const { rows } = await db.query({
    name: 'sm_products_list',
    text: `select sku, name, base_unit, units, version, updated_at from products
           where tenant_id = $1 and sku > $2 order by sku limit $3`,
    values: [tenantId, afterSku, limit],
  });
  return rows.map(toProduct);
};

/** The whole tree of a tenant (hundreds of rows), parents before children. */
export const readLocations = async (db: Db, tenantId: string): Promise<LocationRow[]> => {
  const { rows } = await db.query({
    name: 'sm_locations_read',
    text: `with recursive tree as (
             select l.*, 0 as depth from locations l where l.tenant_id = $1 and l.parent_id = ''
             union all
             select c.*, t.depth + 1 from locations c join tree t on c.tenant_id = t.tenant_id and c.parent_id = t.location_id
           )
           select location_id, name, kind, parent_id, version, updated_at from tree order by depth, location_id`,
    values: [tenantId],
  });
  return rows.map(toLocation);
};

/** Serialises tree edits per tenant, so two concurrent moves cannot build a cycle together. */
export const lockTree = async (client: pg.ClientBase, tenantId: string): Promise<void> => {
  await client.query({
    name: 'sm_tree_lock',
    text: "select pg_advisory_xact_lock(hashtext('stockmind.locations'), hashtext($1))",
    values: [tenantId],
  });
};

export const writeLocation = async (
  client: pg.ClientBase,
  tenantId: string,
  l: Omit<LocationRow, 'version' | 'updatedAt'>,
  operator: string,
): Promise<LocationRow> => {
  const { rows } = await client.query({
    name: 'sm_location_upsert',
    text: `insert into locations as l (tenant_id, location_id, name, kind, parent_id, version, updated_at, updated_by)
           values ($1, $2, $3, $4, $5, 1, clock_timestamp(), $6)
           on conflict (tenant_id, location_id) do update
             set name = excluded.name, kind = excluded.kind, parent_id = excluded.parent_id,
                 version = l.version + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by
           returning location_id, name, kind, parent_id, version, updated_at`,
    values: [tenantId, l.locationId, l.name, l.kind, l.parentId, operator],
  });
  return toLocation(rows[0]);
};

/** Whether stock was ever recorded at a location (it may then not become a region). */
export const hasStock = async (db: Db, tenantId: string, locationId: string): Promise<boolean> => {
  const { rows } = await db.query({
    name: 'sm_location_has_stock',
    text: "select exists (select 1 from streams where tenant_id = $1 and kind = 'stock_item' and location_id = $2 and version > 0) as has",
    values: [tenantId, locationId],
  });
  return rows[0]?.has === true;
};
