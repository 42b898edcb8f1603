// Every stock movement other than a reservation: one short transaction each —
// claim the movement id, lock the stock item(s) in sorted order, read the clock,
// decide (pure), append at the expected versions, commit.
import * as stock from '../domain/stock/stockItem.js';
import { appendToStreams, lockStreams, stockItemStreamKey, streamKeyId } from '../store/eventStore.js';
import { claimKey } from '../store/idempotency.js';
import { inTransaction } from '../../../platform/postgres/tx.js';
import { wireEventType } from '../../../contracts/eventTypes.js';
import { AppError } from '../../../platform/errors.js';
import { eventIdFor, requestHash } from '../../../platform/ids.js';
import { stockLevelView } from './views.js';
import type pg from 'pg';
import type { Channel } from '../domain/shared.js';
import type { StockItem, StockItemCommand, StockItemEvent, StockRefusal } from '../domain/stock/stockItem.js';
import type { EventMetadata, StoredStream } from '../store/eventStore.js';
import type { IdempotencyScope } from '../store/idempotency.js';
import type { Caller } from './caller.js';
import type { PolicySource } from '../store/policies.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
import type { RefusalLog } from './refusals.js';
import type { StockLevelView } from './views.js';

export type MovementRefusal = StockRefusal & { sku: string; locationId: string };
export type MovementOutcome<T> = { ok: true; value: T } | { ok: false; refusal: MovementRefusal };

/** What every single-item movement answers: its id, the item's levels right after, the base quantity. */
export type MovementResult = { movementId: string; level: StockLevelView; baseQuantity: number };

type StockKey = { sku: string; locationId: string };

export type ItemDecision = {
  key: StockKey;
  command: (state: StockItem, now: Date, policy: TenantPolicy) => StockItemCommand;
};

export type MovementSpec<R> = {
  /** Names the command in event ids: a retry yields the same ids. */
  command: string;
  scope: IdempotencyScope;
  id: string;
  /** Hashed as sent (before defaults): same id + same request → the original answer. */
  request: unknown;
  channel: Channel | null;
  /** A back-dated movement; never later than the command's own time. */
  occurredAt: Date | null;
  items: ItemDecision[];
  answer: (levels: StockLevelView[], events: StockItemEvent[][], now: Date) => R;
  /** More rows written in the same transaction (e.g. where a transfer goes). */
  alsoWrite?: (client: pg.ClientBase, now: Date) => Promise<void>;
};

export type MovementDeps = {
  pool: pg.Pool;
  policies: PolicySource;
  refusals: RefusalLog;
  producer: string;
  notifyChannel?: string | null;
};

const stockState = (s: StoredStream): StockItem => (s.version === 0 ? stock.initialState() : (s.state as StockItem));

/** What every event of a command carries besides its payload: who, through which channel, why, under which policy. */
export const commandMetadata = (
  producer: string,
  caller: Caller,
  causationId: string,
  channel: string | null,
  policyVersion: number,
): EventMetadata => ({
  channel,
  operator: caller.operator,
  correlationId: caller.correlationId,
  causationId,
  traceId: caller.traceId,
  producer,
  policyVersion,
});

export const createMovementRunner = (deps: MovementDeps) => {
  const run = async <R>(caller: Caller, spec: MovementSpec<R>): Promise<MovementOutcome<R>> => {
    const hash = requestHash({ command: spec.command, request: spec.request });
    const { version: policyVersion, policy } = await deps.policies.get(caller.tenantId);
    const keys = spec.items.map((i) => stockItemStreamKey(i.key.locationId, i.key.sku));
    const outcome = await inTransaction<MovementOutcome<R>>(deps.pool, caller.signal, async (c) => {
      const claim = await claimKey(c, caller.tenantId, spec.scope, spec.id, hash);
      if (claim.kind === 'replay') return { commit: false, value: { ok: true as const, value: claim.response as R } };
      if (claim.kind === 'conflict') {
        throw new AppError(
          'ALREADY_EXISTS',
          `${spec.scope} id "${spec.id}" was already used with a different request; use a new id`,
          {
            reason: 'IDEMPOTENCY_KEY_REUSED',
            metadata: { [`${spec.scope}_id`]: spec.id },
          },
        );
      }
      const { streams, now } = await lockStreams(c, caller.tenantId, keys);
      const occurredAt = spec.occurredAt !== null && spec.occurredAt < now ? spec.occurredAt : now;
      const decided: { stream: StoredStream; state: StockItem; events: StockItemEvent[] }[] = [];
      for (const [i, item] of spec.items.entries()) {
        const stream = streams.get(streamKeyId(keys[i] as (typeof keys)[number])) as StoredStream;
        const before = stockState(stream);
        const decision = stock.decide(item.command(before, now, policy), before);
        if (decision.kind === 'refused')
          return {
            commit: false,
            value: {
              ok: false as const,
              refusal: { ...decision.refusal, sku: item.key.sku, locationId: item.key.locationId },
            },
          };
        decided.push({ stream, state: decision.events.reduce(stock.evolve, before), events: decision.events });
      }
      const levels = decided.map((d, i) =>
        stockLevelView(spec.items[i]?.key as StockKey, d.state.levels, d.stream.version + d.events.length, now, policy),
      );
      const answer = spec.answer(
        levels,
        decided.map((d) => d.events),
        now,
      );
      await spec.alsoWrite?.(c, now);
      await appendToStreams(
        c,
        caller.tenantId,
        decided.map((d, i) => ({
          stream: d.stream,
          state: d.state,
          events: d.events.map((e, j) => ({
            eventId: eventIdFor(caller.tenantId, spec.command, spec.id, i, j),
            eventType: wireEventType('stock', e.type),
            schemaVersion: 1,
            data: e.data,
            occurredAt,
          })),
        })),
        commandMetadata(deps.producer, caller, spec.id, spec.channel, policyVersion),
        now,
        {
          notifyChannel: deps.notifyChannel ?? null,
          idempotency: { scope: spec.scope, key: spec.id, response: answer },
        },
      );
      return { commit: true, value: { ok: true as const, value: answer } };
    });
    if (!outcome.ok && outcome.refusal.reason === 'INSUFFICIENT_STOCK') {
      const r = outcome.refusal;
      deps.refusals.record({
        tenantId: caller.tenantId,
        channel: spec.channel,
        command: spec.command,
        reservationId: spec.id,
        sku: r.sku,
        locationId: r.locationId,
        requested: r.requested,
        available: r.available,
        at: new Date(),
      });
    }
    return outcome;
  };

  return { run };
};

export type MovementRunner = ReturnType<typeof createMovementRunner>;
