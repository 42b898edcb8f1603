// The core's use cases, wired: one command handler for every write, and each use case handed only
// what it needs. A composition, not logic: the use cases live one per file beside it.
import { createPolicySource } from '../store/policies.js';
import { createCatalog } from './catalog.js';
import { createCommandHandler } from './commandHandler.js';
import { createExpireNextDue } from './expiry.js';
import { createGetReservation } from './getReservation.js';
import { createHistory } from './history.js';
import { createPolicyUseCases } from './policy.js';
import { createQueryStock } from './queryStock.js';
import { createRefusalLog } from './refusals.js';
import { createReserve } from './reserve.js';
import { createStockMovements } from './stockMovements.js';
import { createTransitions } from './transitions.js';
import { quietObserver } from './observer.js';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { AvailabilityCache } from '../readmodels/availabilityCache.js';
import type { Tracing } from '../../../platform/telemetry/tracing.js';
import type { CoreObserver } from './observer.js';

export type CoreDeps = {
  pool: pg.Pool;
  /** For reads: a short connect timeout, so a fallback still answers in time. Defaults to `pool`. */
  readPool?: pg.Pool;
  log: Logger;
  producer: string;
  /** How long a policy change may take to reach this process (the policy source's default if unset). */
  policyCacheMs?: number;
  /** The Redis availability read model; without it every read goes to the ledger. */
  availability?: AvailabilityCache;
  /** NOTIFY this channel at commit so the relay wakes at once; null = the relay polls. */
  notifyChannel?: string | null;
  /** Reservations, batches and read sources for the metrics; nothing is reported without it. */
  observer?: CoreObserver;
  tracing?: Tracing | null;
};

/** Counts every ReserveStock answer by outcome, reason and channel. */
const counted =
  (observer: CoreObserver, reserve: ReturnType<typeof createReserve>): ReturnType<typeof createReserve> =>
  async (caller, input) => {
    const channel = input.channel ?? 'ECOMMERCE';
    try {
      const out = await reserve(caller, input);
      if (out.ok) observer.reservation('reserved', '', channel);
      else observer.reservation('refused', out.refusal.reason, channel);
      return out;
    } catch (err) {
      observer.reservation('failed', observer.reasonOf(err), channel);
      throw err;
    }
  };

/**
 * The core's use cases, with the policy cache and the lost-demand log they share: what
 * core/src/main.ts serves, and what the integration specs drive (test/support/app.ts).
 */
export const buildCore = (deps: CoreDeps) => {
  const { pool, log } = deps;
  const readPool = deps.readPool ?? pool;
  const observer = deps.observer ?? quietObserver;
  const policies = createPolicySource(readPool, deps.policyCacheMs);
  const refusals = createRefusalLog(pool, log);
  const catalog = createCatalog({ pool, readPool });
  const handler = createCommandHandler({
    pool,
    policies,
    refusals,
    producer: deps.producer,
    notifyChannel: deps.notifyChannel ?? null,
    tracing: deps.tracing ?? null,
    onBatch: observer.batch,
  });
  const onExpiryError = (tenant: string, reservationId: string, err: unknown) =>
    log.error({ tenant, reservationId, err }, 'reservation could not expire; retrying in 30 s');
  const inventory = {
    reserve: counted(observer, createReserve({ catalog, handler })),
    ...createTransitions(handler),
    expireNextDue: createExpireNextDue({ pool, handler, onExpiryError }),
    getReservation: createGetReservation(pool),
    queryStock: createQueryStock({ readPool, policies, catalog, availability: deps.availability, observer }),
    ...createPolicyUseCases({ pool, readPool, policies }),
    catalog,
    history: createHistory({ pool: readPool, policies, catalog }),
    ...createStockMovements({ pool, catalog, handler }),
  };
  return { inventory, policies, refusals };
};

export type Inventory = ReturnType<typeof buildCore>['inventory'];
