// What the movement use cases share: the common request fields and their checks, unit conversion
// of one quantity, and handing a MovementSpec to the command handler.
import { movementCommand } from './movements.js';
import type pg from 'pg';
import type { Checker } from './validation.js';
import type { Caller } from './caller.js';
import type { Catalog, QuantityInput } from './catalog.js';
import type { CommandHandler } from './commandSpec.js';
import type { ItemDecision, MovementResult, MovementSpec } from './movements.js';
import type { StockLevelView } from './views.js';

export type Common = { movementId: string; sku: string; locationId: string; quantity: number; unit: string };

/** Clock skew tolerated on caller-sent instants. */
export const SKEW_MS = 5 * 60 * 1000;
const MAX_BACKDATE_MS = 366 * 24 * 3600 * 1000;

export const fieldsOf = (quantity = 'quantity', sku = 'sku', locationId = 'location_id') => ({
  sku,
  locationId,
  quantity,
  unit: 'unit',
});

export const checkCommon = (c: Checker, i: Common, o: { zeroQuantity?: boolean } = {}) => {
  c.id('movement_id', i.movementId);
  c.key('sku', i.sku);
  c.key('location_id', i.locationId);
  if (o.zeroQuantity === true && i.quantity === 0) return;
  c.quantity('quantity', i.quantity);
};

export const checkPast = (c: Checker, field: string, at: Date | null, now: number) => {
  if (at === null) return;
  if (!(at.getTime() <= now + SKEW_MS)) c.add(field, 'must not be in the future');
  else if (now - at.getTime() > MAX_BACKDATE_MS) c.add(field, 'at most a year ago');
};

type OneItem<R> = Pick<MovementSpec<R>, 'command' | 'channel' | 'occurredAt' | 'answer'> & {
  decide: ItemDecision['command'];
};

export type MovementDeps = {
  pool: pg.Pool;
  catalog: Catalog;
  handler: Pick<CommandHandler, 'handle'>;
  now?: () => number;
};

export const movementKit = (deps: MovementDeps) => {
  const run = <R>(caller: Caller, spec: MovementSpec<R>) => deps.handler.handle(caller, movementCommand(spec));
  return {
    pool: deps.pool,
    catalog: deps.catalog,
    now: deps.now ?? Date.now,
    run,
    /** A movement of the one stock item the request names, under its movement_id. */
    runItem: <R>(caller: Caller, input: Common, m: OneItem<R>) =>
      run(caller, {
        command: m.command,
        scope: 'movement',
        id: input.movementId,
        request: input,
        channel: m.channel,
        occurredAt: m.occurredAt,
        items: [{ key: input, command: m.decide }],
        answer: m.answer,
      }),
    /** The quantity as the request sent it and in base units, which every single-item stock command carries. */
    sent: (i: Common, quantity: number) => ({
      movementId: i.movementId,
      quantity,
      unit: i.unit,
      unitQuantity: i.quantity,
    }),
    base: async (caller: Caller, q: QuantityInput): Promise<number> =>
      (await deps.catalog.toBase(caller.tenantId, [q]))[0] as number,
    single: (i: Common, quantity = i.quantity, field = 'quantity'): QuantityInput => ({
      sku: i.sku,
      locationId: i.locationId,
      quantity,
      unit: i.unit,
      fields: fieldsOf(field),
    }),
    result:
      (movementId: string, baseQuantity: number) =>
      (levels: StockLevelView[]): MovementResult => ({ movementId, level: levels[0] as StockLevelView, baseQuantity }),
  };
};

export type MovementKit = ReturnType<typeof movementKit>;
