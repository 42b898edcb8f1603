// Catalog and network use cases, and the two lookups every command needs:
// converting a quantity in any unit to base units, and knowing the location tree.
import { AppError } from '../../../platform/errors.js';
import { Checker, LIMITS } from './validation.js';
import {
  listProducts,
  lockTree,
  hasStock,
  readLocations,
  readProducts,
  upsertProduct,
  writeLocation,
} from '../store/catalog.js';
import { inTransaction } from '../../../platform/postgres/tx.js';
import type pg from 'pg';
import { buildTree, idsUnder, isRegion } from './regions.js';
import type { Caller } from './caller.js';
import type { Tree } from './regions.js';
import type { LocationKind, LocationRow, ProductRow, UnitRow } from '../store/catalog.js';

export type ProductInput = { sku: string; name: string; baseUnit: string; units: UnitRow[] };
export type LocationInput = { locationId: string; name: string; kind: LocationKind | null; parentId: string };

/** A quantity as a command sent it, with the request fields to name when it is wrong. */
export type QuantityInput = {
  sku: string;
  locationId: string;
  quantity: number;
  unit: string;
  fields: { sku: string; locationId: string; quantity: string; unit: string };
};

const CACHE_MS = 5_000;
const MAX_CACHED_PRODUCTS = 200_000;
const UNIT_NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,31}$/u;

const checkProduct = (p: ProductInput): void => {
  const c = new Checker();
  c.key('sku', p.sku);
  if (p.name.trim() === '') c.add('name', 'required');
  c.text('name', p.name);
  if (!UNIT_NAME.test(p.baseUnit))
    c.add('base_unit', 'required: 1-32 letters, digits, spaces, dots, dashes or underscores (e.g. "unit", "kg")');
  if (p.units.length > 20) c.add('units', 'at most 20 packaging units');
  const names = new Set([p.baseUnit]);
  p.units.forEach((u, i) => {
    if (!UNIT_NAME.test(u.name))
      c.add(`units[${i}].name`, 'required: 1-32 letters, digits, spaces, dots, dashes or underscores');
    else if (names.has(u.name)) c.add(`units[${i}].name`, `"${u.name}" is already the base unit or an earlier unit`);
    names.add(u.name);
    if (!Number.isSafeInteger(u.baseUnits) || u.baseUnits < 2)
      c.add(`units[${i}].base_units`, 'must be a whole number of base units, at least 2 (e.g. box = 12)');
    else if (u.baseUnits > LIMITS.maxQuantity) c.add(`units[${i}].base_units`, `at most ${LIMITS.maxQuantity}`);
  });
  c.done();
};

/** How many base units one `unit` of the product is, or null when the product has no such unit. */
export const unitFactor = (product: ProductRow, unit: string): number | null =>
  unit === '' || unit === product.baseUnit ? 1 : (product.units.find((u) => u.name === unit)?.baseUnits ?? null);

export const createCatalog = (deps: { pool: pg.Pool; readPool?: pg.Pool; now?: () => number }) => {
  const now = deps.now ?? Date.now;
  const readPool = deps.readPool ?? deps.pool;
  // Only hits are cached: a product or location registered a moment ago is found at once;
  // a unit or tree change reaches every core process within CACHE_MS.
  const products = new Map<string, { at: number; row: ProductRow }>();
  const trees = new Map<string, { at: number; tree: Tree }>();

  const tree = async (tenantId: string, fresh = false): Promise<Tree> => {
    const hit = trees.get(tenantId);
    if (!fresh && hit !== undefined && now() - hit.at < CACHE_MS) return hit.tree;
    const t = buildTree(await readLocations(readPool, tenantId));
    trees.set(tenantId, { at: now(), tree: t });
    return t;
  };

  /** For reads: the tree as last known when the ledger is unreachable, so region sums still answer. */
  const treeForRead = async (tenantId: string): Promise<Tree> => {
    try {
      return await tree(tenantId);
    } catch (err) {
      const hit = trees.get(tenantId);
      if (hit === undefined) throw err;
      return hit.tree;
    }
  };

  const productsFor = async (tenantId: string, skus: string[]): Promise<Map<string, ProductRow>> => {
    const out = new Map<string, ProductRow>();
    const missing: string[] = [];
    for (const sku of new Set(skus)) {
      const hit = products.get(JSON.stringify([tenantId, sku]));
      if (hit !== undefined && now() - hit.at < CACHE_MS) out.set(sku, hit.row);
      else missing.push(sku);
    }
    if (missing.length === 0) return out;
    if (products.size > MAX_CACHED_PRODUCTS) products.clear();
    for (const [sku, row] of await readProducts(deps.pool, tenantId, missing)) {
      products.set(JSON.stringify([tenantId, sku]), { at: now(), row });
      out.set(sku, row);
    }
    return out;
  };

  /**
   * Base quantities for a command's lines, in order. Unknown unit or a quantity out of range
   * → INVALID_ARGUMENT naming the field; unknown SKU or location → NOT_FOUND; a region → INVALID_ARGUMENT.
   */
  const toBase = async (tenantId: string, items: QuantityInput[]): Promise<number[]> => {
    const found = await productsFor(
      tenantId,
      items.map((i) => i.sku),
    );
    let t = await tree(tenantId);
    if (items.some((i) => !t.byId.has(i.locationId))) t = await tree(tenantId, true);
    const unknownSku = items.find((i) => !found.has(i.sku));
    if (unknownSku !== undefined) {
      throw new AppError(
        'NOT_FOUND',
        `product "${unknownSku.sku}" is not in the catalog (${unknownSku.fields.sku}); register it with UpsertProduct`,
        {
          reason: 'PRODUCT_NOT_FOUND',
          metadata: { sku: unknownSku.sku },
        },
      );
    }
    const unknownLocation = items.find((i) => !t.byId.has(i.locationId));
    if (unknownLocation !== undefined) {
      throw new AppError(
        'NOT_FOUND',
        `location "${unknownLocation.locationId}" does not exist (${unknownLocation.fields.locationId}); register it with UpsertLocation`,
        {
          reason: 'LOCATION_NOT_FOUND',
          metadata: { location_id: unknownLocation.locationId },
        },
      );
    }
    const c = new Checker();
    const base = items.map((i) => {
      if (isRegion(t, i.locationId))
        c.add(i.fields.locationId, `"${i.locationId}" is a region; stock is held at its warehouses and stores`);
      const product = found.get(i.sku) as ProductRow;
      const factor = unitFactor(product, i.unit);
      if (factor === null) {
        const known = [product.baseUnit, ...product.units.map((u) => u.name)].map((n) => `"${n}"`).join(', ');
        c.add(
          i.fields.unit,
          `unknown unit "${i.unit.slice(0, 32)}" for "${i.sku}"; use ${known} (empty = ${product.baseUnit})`,
        );
        return 0;
      }
      const q = i.quantity * factor;
      if (q > LIMITS.maxQuantity)
        c.add(
          i.fields.quantity,
          `${i.quantity} ${i.unit} is ${q} ${product.baseUnit}, more than the limit of ${LIMITS.maxQuantity}`,
        );
      return q;
    });
    c.done();
    return base;
  };

  const putProduct = async (caller: Caller, input: ProductInput): Promise<ProductRow> => {
    checkProduct(input);
    const row = await upsertProduct(deps.pool, caller.tenantId, input, caller.operator);
    products.delete(JSON.stringify([caller.tenantId, row.sku]));
    return row;
  };

  const getProduct = async (caller: Caller, sku: string): Promise<ProductRow> => {
    const c = new Checker();
    c.key('sku', sku);
    c.done();
    const row = (await readProducts(readPool, caller.tenantId, [sku])).get(sku);
    if (row === undefined)
      throw new AppError('NOT_FOUND', `product "${sku}" is not in the catalog`, {
        reason: 'PRODUCT_NOT_FOUND',
        metadata: { sku },
      });
    return row;
  };

  const pageOfProducts = async (
    caller: Caller,
    pageSize: number,
    pageToken: string,
  ): Promise<{ products: ProductRow[]; next: string }> => {
    const c = new Checker();
    if (!(pageSize >= 0 && pageSize <= 500)) c.add('page_size', 'between 1 and 500 (0 = 100)');
    let after = '';
    if (pageToken !== '') {
      try {
        after = String(JSON.parse(Buffer.from(pageToken, 'base64url').toString()).after);
      } catch {
        c.add('page_token', 'not a token this service issued; send the next_page_token of the previous page');
      }
    }
    c.done();
    const limit = pageSize === 0 ? 100 : pageSize;
    const rows = await listProducts(readPool, caller.tenantId, after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const next =
      rows.length > limit && last !== undefined
        ? Buffer.from(JSON.stringify({ after: last.sku })).toString('base64url')
        : '';
    return { products: page, next };
  };

  const putLocation = async (caller: Caller, input: LocationInput): Promise<LocationRow> => {
    const c = new Checker();
    c.key('location_id', input.locationId);
    if (input.name.trim() === '') c.add('name', 'required');
    c.text('name', input.name);
    if (input.kind === null)
      c.add('kind', 'required: LOCATION_KIND_WAREHOUSE, LOCATION_KIND_STORE or LOCATION_KIND_REGION');
    if (input.parentId !== '') c.key('parent_id', input.parentId);
    if (input.parentId === input.locationId) c.add('parent_id', 'a location cannot be its own parent');
    c.done();
    const kind = input.kind as LocationKind;
    const row = await inTransaction(deps.pool, caller.signal, async (client) => {
      await lockTree(client, caller.tenantId);
      const t = buildTree(await readLocations(client, caller.tenantId));
      const v = new Checker();
      if (input.parentId !== '') {
        const parent = t.byId.get(input.parentId);
        if (parent === undefined) v.add('parent_id', `"${input.parentId}" does not exist; register the region first`);
        else if (parent.kind !== 'REGION')
          v.add('parent_id', `"${input.parentId}" is a ${parent.kind.toLowerCase()}; only regions have children`);
        else if (idsUnder(t, input.locationId).has(input.parentId))
          v.add('parent_id', `"${input.parentId}" is below "${input.locationId}": that would make a cycle`);
      }
      const existing = t.byId.get(input.locationId);
      if (
        existing !== undefined &&
        existing.kind === 'REGION' &&
        kind !== 'REGION' &&
        (t.children.get(input.locationId) ?? []).length > 0
      ) {
        v.add('kind', `"${input.locationId}" is a region with locations below it; move them first`);
      }
      if (
        kind === 'REGION' &&
        existing !== undefined &&
        existing.kind !== 'REGION' &&
        (await hasStock(client, caller.tenantId, input.locationId))
      ) {
        v.add('kind', `"${input.locationId}" holds stock; a region cannot`);
      }
      v.done();
      return { commit: true, value: await writeLocation(client, caller.tenantId, { ...input, kind }, caller.operator) };
    });
    trees.delete(caller.tenantId);
    return row;
  };

  const listLocations = async (caller: Caller, rootId: string): Promise<LocationRow[]> => {
    const t = buildTree(await readLocations(readPool, caller.tenantId));
    if (rootId === '') return [...t.byId.values()];
    if (!t.byId.has(rootId))
      throw new AppError('NOT_FOUND', `location "${rootId}" does not exist`, {
        reason: 'LOCATION_NOT_FOUND',
        metadata: { location_id: rootId },
      });
    const under = idsUnder(t, rootId);
    return [...t.byId.values()].filter((l) => under.has(l.locationId));
  };

  return { toBase, tree, treeForRead, putProduct, getProduct, pageOfProducts, putLocation, listLocations };
};

export type Catalog = ReturnType<typeof createCatalog>;
