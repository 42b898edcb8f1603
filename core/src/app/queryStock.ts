// QueryStock: levels per key, in request order. STRONG reads the ledger; EVENTUAL reads the Redis
// read model (one round trip), filling never-projected keys from the ledger. Redis down: the
// ledger answers. Ledger down: Redis answers with stale = true. A region's key answers the sum
// over every warehouse and store below it; with the ledger down, the last known tree is used.
import { AppError } from '../../../platform/errors.js';
import { isConnectionError, isLedgerDown } from '../../../platform/postgres/pool.js';
import { readStockItems } from '../store/eventStore.js';
import { expandRegions, isRegion, sumRegions } from './regions.js';
import { checkQuery, LIMITS } from './validation.js';
import { stockLevelView } from './views.js';
import type pg from 'pg';
import type { Levels } from '../domain/stock/levels.js';
import type { AvailabilityRecord } from '../../../contracts/availabilityRecord.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
import type { AvailabilityCache } from '../readmodels/availabilityCache.js';
import type { PolicySource } from '../store/policies.js';
import type { Caller } from './caller.js';
import type { Catalog } from './catalog.js';
import type { StockKeyInput } from './validation.js';
import type { StockLevelView } from './views.js';
import type { CoreObserver } from './observer.js';

export type Consistency = 'EVENTUAL' | 'STRONG';

export const createQueryStock = (deps: {
  readPool: pg.Pool;
  policies: PolicySource;
  catalog: Catalog;
  /** The Redis availability read model; without it every read goes to the ledger. */
  availability?: AvailabilityCache | undefined;
  observer?: Pick<CoreObserver, 'reads'>;
}) => {
  const { readPool, availability } = deps;
  const reads = deps.observer?.reads ?? (() => undefined);
  // Whether the ledger answered lately. While it does not, an EVENTUAL answer from Redis is
  // marked stale: nothing can tell how far behind the projection is. Probed at most once a
  // second, off the request's path; every ledger read also updates it.
  const ledger = { down: false, probedAt: 0 };
  const noteLedgerError = (err: unknown) => {
    if (isConnectionError(err)) ledger.down = true;
  };
  const probeLedger = () => {
    if (Date.now() - ledger.probedAt < 1_000) return;
    ledger.probedAt = Date.now();
    void readPool.query('select 1').then(() => (ledger.down = false), noteLedgerError);
  };

  const fromLedger = async (tenantId: string, keys: StockKeyInput[], policy: TenantPolicy) => {
    const { items, readAt } = await readStockItems(readPool, tenantId, keys).catch((err: unknown) => {
      noteLedgerError(err);
      throw err;
    });
    ledger.down = false;
    return keys.map((k, i) => {
      const item = items[i] ?? null;
      const levels = item === null ? null : (item.state as { levels: Levels }).levels;
      return stockLevelView(k, levels, item?.version ?? 0, readAt, policy);
    });
  };

  const queryItems = async (
    caller: Caller,
    keys: StockKeyInput[],
    consistency: Consistency,
  ): Promise<StockLevelView[]> => {
    const { policy } = await deps.policies.get(caller.tenantId, 'read');
    const fromCache = (k: StockKeyInput, r: AvailabilityRecord | null, stale: boolean): StockLevelView =>
      r === null
        ? stockLevelView(k, null, 0, new Date(), policy, stale)
        : stockLevelView(k, r.levels, r.version, new Date(r.asOf), policy, stale);

    if (consistency === 'STRONG' || availability === undefined) {
      try {
        const views = await fromLedger(caller.tenantId, keys, policy);
        reads(availability === undefined || consistency === 'STRONG' ? 'ledger' : 'ledger_fallback', keys.length);
        return views;
      } catch (err) {
        if (availability === undefined || !isLedgerDown(err, readPool)) throw err;
        const cached = await availability.read(caller.tenantId, keys).catch(() => {
          throw err;
        });
        reads('redis_fallback', keys.length);
        return keys.map((k, i) => fromCache(k, cached[i] ?? null, true));
      }
    }
    let cached: (AvailabilityRecord | null)[];
    try {
      cached = await availability.read(caller.tenantId, keys);
    } catch {
      const views = await fromLedger(caller.tenantId, keys, policy);
      reads('ledger_fallback', keys.length);
      return views;
    }
    probeLedger();
    const missing = keys.flatMap((k, i) => (cached[i] == null ? [i] : []));
    const views = keys.map((k, i) => fromCache(k, cached[i] ?? null, ledger.down));
    reads('redis', keys.length - missing.length);
    if (missing.length === 0) return views;
    try {
      const filled = await fromLedger(
        caller.tenantId,
        missing.map((i) => keys[i] as StockKeyInput),
        policy,
      );
      missing.forEach((i, j) => (views[i] = filled[j] as StockLevelView));
      reads('ledger_fallback', missing.length);
    } catch (err) {
      if (!isLedgerDown(err, readPool)) throw err;
      for (const i of missing) views[i] = fromCache(keys[i] as StockKeyInput, null, true);
    }
    return views;
  };

  return async (caller: Caller, keys: StockKeyInput[], consistency: Consistency = 'STRONG') => {
    checkQuery(keys);
    const tree = await deps.catalog.treeForRead(caller.tenantId).catch(() => null);
    const { policy } = await deps.policies.get(caller.tenantId, 'read');
    const groups = expandRegions(tree, keys);
    const flat = groups.flat();
    if (flat.length > LIMITS.maxExpandedKeys) throw tooMany(flat.length);
    const views = flat.length === 0 ? [] : await queryItems(caller, flat, consistency);
    return sumRegions(keys, groups, views, (k) => isRegion(tree, k.locationId), policy);
  };
};

const tooMany = (n: number) =>
  new AppError('INVALID_ARGUMENT', `the keys cover ${n} stock items; at most ${LIMITS.maxExpandedKeys} per call`, {
    reason: 'INVALID_ARGUMENT',
    violations: [
      { field: 'keys', description: `regions expand to at most ${LIMITS.maxExpandedKeys} stock items per call` },
    ],
  });
