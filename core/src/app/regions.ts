// The location tree and what a region stands for: a region holds no stock of its own, so a key
// naming it reads every warehouse and store below it and answers their sum. Written once for
// QueryStock, GetStockAt and ListMovements.
import { availabilityStatus, zeroLevels } from '../domain/stock/levels.js';
import type { Levels } from '../domain/stock/levels.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
import type { LocationRow } from '../store/catalog.js';
import type { StockKeyInput } from './validation.js';
import type { StockLevelView } from './views.js';

export type Tree = { byId: Map<string, LocationRow>; children: Map<string, LocationRow[]> };

export const buildTree = (rows: LocationRow[]): Tree => {
  const byId = new Map(rows.map((r) => [r.locationId, r]));
  const children = new Map<string, LocationRow[]>();
  for (const r of rows) children.set(r.parentId, [...(children.get(r.parentId) ?? []), r]);
  return { byId, children };
};

/** Every node at or below `id`, regions included, parents before children; none for an unknown id. */
const subtree = (tree: Tree, id: string): LocationRow[] => {
  const out: LocationRow[] = [];
  const visit = (node: LocationRow) => {
    out.push(node);
    for (const child of tree.children.get(node.locationId) ?? []) visit(child);
  };
  const root = tree.byId.get(id);
  if (root !== undefined) visit(root);
  return out;
};

export const idsUnder = (tree: Tree, id: string): Set<string> => new Set(subtree(tree, id).map((n) => n.locationId));

/** Without a tree (the ledger unreachable and none cached) every location is taken for a stock location. */
export const isRegion = (tree: Tree | null, id: string): boolean => tree?.byId.get(id)?.kind === 'REGION';

/** The locations that hold what `id` stands for: itself, or every warehouse and store below a region. */
export const stockLocationsAt = (tree: Tree | null, id: string): string[] =>
  tree !== null && isRegion(tree, id)
    ? subtree(tree, id).flatMap((node) => (node.kind === 'REGION' ? [] : [node.locationId]))
    : [id];

/** Each key as the stock items it stands for. */
export const expandRegions = (tree: Tree | null, keys: StockKeyInput[]): StockKeyInput[][] =>
  keys.map((k) => stockLocationsAt(tree, k.locationId).map((locationId) => ({ sku: k.sku, locationId })));

/**
 * One answer per key from the answers per stock item, `groups[i]` being key i's items in `views`
 * order: a region's key answers their sum, any other key its one item.
 */
export const sumRegions = (
  keys: StockKeyInput[],
  groups: StockKeyInput[][],
  views: StockLevelView[],
  region: (key: StockKeyInput) => boolean,
  policy: TenantPolicy,
): StockLevelView[] => {
  let at = 0;
  return groups.map((group, i) => {
    const key = keys[i] as StockKeyInput;
    const parts = views.slice(at, at + group.length);
    at += group.length;
    return region(key) ? aggregateViews(key, parts, policy) : (parts[0] as StockLevelView);
  });
};

/**
 * The sum over a region's locations. Available is the sum of each location's available (safety
 * stock is kept at every location); the version is the sum of versions, so it moves whenever any does.
 */
const aggregateViews = (key: StockKeyInput, parts: StockLevelView[], policy: TenantPolicy): StockLevelView => {
  const levels = zeroLevels();
  let free = 0;
  let version = 0;
  let asOf = Number.POSITIVE_INFINITY;
  for (const p of parts) {
    for (const k of Object.keys(levels) as (keyof Levels)[]) levels[k] += p.levels[k];
    free += p.available;
    version += p.version;
    asOf = Math.min(asOf, Date.parse(p.asOf));
  }
  return {
    sku: key.sku,
    locationId: key.locationId,
    levels,
    available: free,
    status: availabilityStatus(free, policy.lowStockThreshold),
    version,
    asOf: (Number.isFinite(asOf) ? new Date(asOf) : new Date()).toISOString(),
    stale: parts.some((p) => p.stale),
    aggregated: true,
    locationCount: parts.length,
  };
};
