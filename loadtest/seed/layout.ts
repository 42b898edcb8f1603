// The shape of a seeded dataset, decided by a few numbers and nothing random:
// tenants load-1..N; per tenant 3 warehouses stocking every SKU and stores
// (grouped under regions) each stocking a slice of the catalogue; one hot SKU;
// a little history on every `historyEvery`-th SKU.

export type SeedOptions = {
  tenants: number;
  /** Stock locations per tenant: the warehouses plus the stores. */
  locations: number;
  skus: number;
  /** SKUs each store stocks. */
  storeSkus: number;
  warehouses: number;
  /** Units of HOT-1 at W1, the SKU every channel fights over. */
  hotStock: number;
  /** Every n-th SKU gets a completed web sale at W1 and a cancelled B2B hold at W2. */
  historyEvery: number;
  tenantPrefix: string;
};

export const DEFAULTS: SeedOptions = {
  tenants: 3,
  locations: 300,
  skus: 1_000_000,
  storeSkus: 2_000,
  warehouses: 3,
  hotStock: 1_000,
  historyEvery: 100,
  tenantPrefix: 'load',
};

export const HOT_SKU = 'HOT-1';
export const STORES_PER_REGION = 25;

export type Location = { id: string; name: string; kind: 'REGION' | 'WAREHOUSE' | 'STORE'; parentId: string };

export const tenantIds = (o: SeedOptions): string[] =>
  Array.from({ length: o.tenants }, (_, i) => `${o.tenantPrefix}-${i + 1}`);

export const skuId = (n: number): string => `SKU-${n}`;

export const storeCount = (o: SeedOptions): number => Math.max(0, o.locations - o.warehouses);

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const storeId = (o: SeedOptions, k: number): string => `S${pad(k, Math.max(3, String(storeCount(o)).length))}`;

export const warehouseId = (w: number): string => `W${w}`;

/** The location tree: regions at the top, warehouses and stores under them. */
export const locationTree = (o: SeedOptions): Location[] => {
  const stores = storeCount(o);
  const regions = Math.max(1, Math.ceil(stores / STORES_PER_REGION), Math.min(o.warehouses, 3));
  const regionId = (r: number) => `R${pad(r, 2)}`;
  const out: Location[] = [];
  for (let r = 1; r <= regions; r++) out.push({ id: regionId(r), name: `Region ${r}`, kind: 'REGION', parentId: '' });
  for (let w = 1; w <= o.warehouses; w++)
    out.push({
      id: warehouseId(w),
      name: `Warehouse ${w}`,
      kind: 'WAREHOUSE',
      parentId: regionId(((w - 1) % regions) + 1),
    });
  for (let k = 1; k <= stores; k++)
    out.push({
      id: storeId(o, k),
      name: `Store ${k}`,
      kind: 'STORE',
      parentId: regionId((Math.floor((k - 1) / STORES_PER_REGION) % regions) + 1),
    });
  return out;
};

/** Store k (from 1) stocks storeSkus consecutive SKUs starting at (k-1)*storeSkus, wrapping. */
export const storeAssortment = (o: SeedOptions, k: number): { first: number; count: number } => ({
  first: ((k - 1) * o.storeSkus) % o.skus,
  count: Math.min(o.storeSkus, o.skus),
});

/** Deterministic quantities: warehouses 50..1000 units, stores 3..40. */
export const warehouseQuantity = (n: number, w: number): number => 50 + ((n * 7919 + w * 104_729) % 951);
export const storeQuantity = (n: number, k: number): number => 3 + ((n * 31 + k * 17) % 38);

export const hasHistory = (o: SeedOptions, n: number): boolean => o.historyEvery > 0 && n % o.historyEvery === 0;

/** Stock item streams and events a tenant gets (for planning disk, time and Redis memory). */
export const volume = (o: SeedOptions): { stockItems: number; reservations: number; events: number } => {
  const history = o.historyEvery > 0 ? Math.ceil(o.skus / o.historyEvery) : 0;
  const stockItems = o.skus * o.warehouses + storeCount(o) * Math.min(o.storeSkus, o.skus) + 1;
  // A sale: 3 reservation + 3 stock events; a cancelled hold: 2 + 2 (on top of each receipt).
  const reservations = o.warehouses >= 2 ? history * 2 : history;
  const events = stockItems + history * 6 + (o.warehouses >= 2 ? history * 4 : 0);
  return { stockItems, reservations, events };
};
