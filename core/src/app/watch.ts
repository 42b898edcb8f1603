// WatchStock: the current levels (optionally) and then every change, per caller.
import { AppError, invalidArgument } from '../../../platform/errors.js';
import { Checker, LIMITS } from './validation.js';
import { isRegion } from './regions.js';
import { stockLevelView } from './views.js';
import type { Caller } from './caller.js';
import type { Inventory } from './inventory.js';
import type { PolicySource } from '../store/policies.js';
import type { StockLevelView } from './views.js';
import type { StockChange, StockWatchHub, WatchFilter } from '../readmodels/stockWatch.js';

export type WatchUpdate = { level: StockLevelView; eventId: string };

const MAX_QUEUE = 10_000;

export const checkWatch = (filter: WatchFilter): void => {
  const c = new Checker();
  if ('keys' in filter) {
    if (filter.keys.length === 0) c.add('keys', 'give keys or a location_id');
    if (filter.keys.length > LIMITS.maxQueryKeys) c.add('keys', `at most ${LIMITS.maxQueryKeys} keys`);
    filter.keys.forEach((k, i) => {
      c.key(`keys[${i}].sku`, k.sku);
      c.key(`keys[${i}].location_id`, k.locationId);
    });
  } else {
    c.key('location_id', filter.locationId);
  }
  c.done();
};

/**
 * Changes arrive per warehouse or store; a region's sum has no event of its own. Rather than a
 * watch that never speaks, the caller is told to watch the locations below it.
 */
const refuseRegions = async (inventory: Inventory, tenantId: string, filter: WatchFilter): Promise<void> => {
  const tree = await inventory.catalog.treeForRead(tenantId).catch(() => null);
  const fields =
    'keys' in filter
      ? filter.keys.flatMap((k, i) =>
          isRegion(tree, k.locationId) ? [{ field: `keys[${i}].location_id`, id: k.locationId }] : [],
        )
      : isRegion(tree, filter.locationId)
        ? [{ field: 'location_id', id: filter.locationId }]
        : [];
  if (fields.length === 0) return;
  throw invalidArgument(
    fields.map((f) => ({
      field: f.field,
      description: `"${f.id}" is a region: watch its warehouses and stores (ListLocations with root_id "${f.id}"), or poll QueryStock for its sum`,
    })),
  );
};

export async function* watchStock(
  deps: { hub: StockWatchHub; inventory: Inventory; policies: PolicySource },
  caller: Caller,
  filter: WatchFilter,
  sendCurrent: boolean,
  signal: AbortSignal,
): AsyncGenerator<WatchUpdate> {
  checkWatch(filter);
  await refuseRegions(deps.inventory, caller.tenantId, filter);
  if (!deps.hub.ready()) {
    throw new AppError(
      'UNAVAILABLE',
      'live stock changes are unavailable right now (the event broker is unreachable); retry shortly',
      {
        reason: 'BROKER_UNAVAILABLE',
      },
    );
  }
  const queue: StockChange[] = [];
  let overflow = false;
  let wake: (() => void) | null = null;
  let ended = false;
  const unwatch = deps.hub.watch(
    caller.tenantId,
    filter,
    (change) => {
      if (queue.length >= MAX_QUEUE) overflow = true;
      else queue.push(change);
      wake?.();
    },
    () => {
      ended = true;
      wake?.();
    },
  );
  const lastVersion = new Map<string, number>();
  const fresh = (sku: string, locationId: string, version: number) => {
    const key = JSON.stringify([locationId, sku]);
    if ((lastVersion.get(key) ?? -1) >= version) return false;
    lastVersion.set(key, version);
    return true;
  };
  try {
    if (sendCurrent && 'keys' in filter) {
      for (const level of await deps.inventory.queryStock(caller, filter.keys, 'EVENTUAL')) {
        if (fresh(level.sku, level.locationId, level.version)) yield { level, eventId: '' };
      }
    }
    while (!signal.aborted) {
      if (ended) {
        throw new AppError(
          'UNAVAILABLE',
          'live changes were interrupted (shutdown or broker disconnect); reconnect with send_current to resume',
          {
            reason: 'WATCH_INTERRUPTED',
          },
        );
      }
      if (overflow) {
        throw new AppError(
          'ABORTED',
          'this watcher fell too far behind and was dropped; reconnect (with send_current) to resume',
          {
            reason: 'WATCHER_TOO_SLOW',
          },
        );
      }
      const change = queue.shift();
      if (change === undefined) {
        // The abort listener goes when the wait ends: a long watch must not pile one up per wait.
        await new Promise<void>((resolve) => {
          const done = () => {
            signal.removeEventListener('abort', done);
            resolve();
          };
          wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
        wake = null;
        continue;
      }
      if (!fresh(change.sku, change.locationId, change.version)) continue;
      const { policy } = await deps.policies.get(caller.tenantId, 'read');
      yield {
        level: stockLevelView(change, change.levels, change.version, new Date(change.at), policy),
        eventId: change.eventId,
      };
    }
  } finally {
    unwatch();
  }
}
