// The core's use cases, wired: one command handler for every write, and each use case handed only
// what it needs. A composition, not logic: the use cases live one per file beside it.
import { createCatalog } from './catalog.js';
import { createCommandHandler } from './commandHandler.js';
import { createExpireNextDue } from './expiry.js';
import { createGetReservation } from './getReservation.js';
import { createHistory } from './history.js';
import { createPolicyUseCases } from './policy.js';
import { createQueryStock } from './queryStock.js';
import { createReserve } from './reserve.js';
import { createStockMovements } from './stockMovements.js';
import { createTransitions } from './transitions.js';
import type pg from 'pg';
import type { PolicySource } from '../store/policies.js';
import type { AvailabilityCache } from '../readmodels/availabilityCache.js';
import type { RefusalLog } from './refusals.js';

export type InventoryDeps = {
  pool: pg.Pool;
  /** For reads: a short connect timeout, so a fallback still answers in time. Defaults to `pool`. */
  readPool?: pg.Pool;
  policies: PolicySource;
  refusals: RefusalLog;
  producer: string;
  /** The Redis availability read model; without it every read goes to the ledger. */
  availability?: AvailabilityCache;
  /** NOTIFY this channel at commit so the relay wakes at once; null = the relay polls. */
  notifyChannel?: string | null;
  /** A due reservation failed to expire; its expiry is retried 30 s later, so it never blocks the others. */
  onExpiryError?: (tenantId: string, reservationId: string, err: unknown) => void;
};

export const createInventory = (deps: InventoryDeps) => {
  const { pool, policies } = deps;
  const readPool = deps.readPool ?? pool;
  const catalog = createCatalog({ pool, readPool });
  const handler = createCommandHandler({
    pool,
    policies,
    refusals: deps.refusals,
    producer: deps.producer,
    notifyChannel: deps.notifyChannel ?? null,
  });
  return {
    reserve: createReserve({ catalog, handler }),
    ...createTransitions(handler),
    expireNextDue: createExpireNextDue({ pool, handler, onExpiryError: deps.onExpiryError }),
    getReservation: createGetReservation(pool),
    queryStock: createQueryStock({ readPool, policies, catalog, availability: deps.availability }),
    ...createPolicyUseCases({ pool, readPool, policies }),
    catalog,
    history: createHistory({ pool: readPool, policies, catalog }),
    ...createStockMovements({ pool, catalog, handler }),
  };
};

export type Inventory = ReturnType<typeof createInventory>;
