// Every stock movement other than a reservation, as a command spec: one or two stock items, each
// deciding its own stock command; the answer carries each item's levels right after.
import * as stock from '../domain/stock/stockItem.js';
import { stockItemStreamKey } from '../store/eventStore.js';
import { requestHash } from '../../../platform/ids.js';
import { stockLevelView } from './views.js';
import type pg from 'pg';
import type { Channel } from '../domain/shared.js';
import type { StockItem, StockItemCommand, StockItemEvent } from '../domain/stock/stockItem.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
import type { IdempotencyScope } from '../store/idempotency.js';
import type { CommandSpec, Decision } from './commandSpec.js';
import type { ItemRefusal } from './outcome.js';
import type { StockLevelView } from './views.js';

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

export const movementCommand = <R>(m: MovementSpec<R>): CommandSpec<R, ItemRefusal> => ({
  command: m.command,
  id: m.id,
  idempotency: { scope: m.scope, requestHash: requestHash({ command: m.command, request: m.request }) },
  channel: m.channel,
  occurredAt: m.occurredAt,
  lostDemand: true,
  streams: m.items.map((i) => stockItemStreamKey(i.key.locationId, i.key.sku)),
  decide: (states, now, policy) => decideItems(m.items, states as StockItem[], now, policy),
  answer: (after, now, policy) =>
    m.answer(
      after.map((a, i) =>
        stockLevelView(m.items[i]?.key as StockKey, (a.state as StockItem).levels, a.version, now, policy),
      ),
      after.map((a) => a.events as StockItemEvent[]),
      now,
    ),
  ...(m.alsoWrite === undefined ? {} : { alsoWrite: m.alsoWrite }),
});

const decideItems = (
  items: ItemDecision[],
  states: StockItem[],
  now: Date,
  policy: TenantPolicy,
): Decision<ItemRefusal> => {
  const events: StockItemEvent[][] = [];
  for (const [i, item] of items.entries()) {
    const before = states[i] as StockItem;
    const decision = stock.decide(item.command(before, now, policy), before);
    if (decision.kind === 'refused') {
      return { kind: 'refused', refusal: { ...decision.refusal, sku: item.key.sku, locationId: item.key.locationId } };
    }
    events.push(decision.events);
  }
  return { kind: 'accepted', events };
};
