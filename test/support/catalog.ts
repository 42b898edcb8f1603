// Registers the products and locations a spec moves stock of: since the catalog
// exists, writes to an unknown SKU or location answer NOT_FOUND.
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { caller } from './app.js';
import type { Inventory } from '../../core/src/app/inventory.js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';

export type CatalogFixture = {
  skus: string[];
  /** Warehouses (ids starting with W or wh) and stores; all roots. */
  locations: string[];
  /** Packaging units every product gets, e.g. [{ name: 'box', baseUnits: 12 }]. */
  units?: { name: string; baseUnits: number }[];
};

const kindOf = (id: string): 'WAREHOUSE' | 'STORE' => (/^(w|wh)/i.test(id) ? 'WAREHOUSE' : 'STORE');

/** Through the use cases, for specs that drive the core in process. */
export const registerCatalog = async (inventory: Inventory, tenantId: string, f: CatalogFixture): Promise<void> => {
  const who = caller(tenantId);
  for (const locationId of f.locations) {
    await inventory.catalog.putLocation(who, { locationId, name: locationId, kind: kindOf(locationId), parentId: '' });
  }
  for (const sku of f.skus)
    await inventory.catalog.putProduct(who, { sku, name: sku, baseUnit: 'unit', units: f.units ?? [] });
};

const m = InventoryService.method;

/** Through the RPCs, for specs that run a core process (the client's token needs the admin role). */
export const registerCatalogRpc = async (client: GrpcClient, f: CatalogFixture): Promise<void> => {
  for (const locationId of f.locations) {
    await client.unary(m.upsertLocation, {
      locationId,
      name: locationId,
      kind: kindOf(locationId) === 'WAREHOUSE' ? LocationKind.WAREHOUSE : LocationKind.STORE,
    });
  }
  const units = (f.units ?? []).map((u) => ({ name: u.name, baseUnits: BigInt(u.baseUnits) }));
  for (const sku of f.skus) await client.unary(m.upsertProduct, { sku, name: sku, baseUnit: 'unit', units });
};
