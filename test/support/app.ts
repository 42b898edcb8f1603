// The core's use cases built by core/src/main.ts's own builder (without Redis), on a
// private test database, plus the SQL probes integration specs assert with.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { buildCore } from '../../core/src/app/inventory.js';
import { createTestDatabase } from './db.js';
import type { Logger } from 'pino';
import type { Caller } from '../../core/src/app/caller.js';
import type { Inventory } from '../../core/src/app/inventory.js';
import type { Outcome, Refusal } from '../../core/src/app/outcome.js';
import type { RefusalLog } from '../../core/src/app/refusals.js';
import type { ReserveInput } from '../../core/src/app/validation.js';
import type { ReceiveInput } from '../../core/src/app/receipts.js';
import type { TestDatabase } from './db.js';

export type AppHarness = {
  db: TestDatabase;
  log: Logger;
  inventory: Inventory;
  refusals: RefusalLog;
  close(): Promise<void>;
};

export const startApp = async (
  label: string,
  o: { policyCacheMs?: number; poolMax?: number } = {},
): Promise<AppHarness> => {
  const db = await createTestDatabase(label, o.poolMax ?? 20);
  const log = pino({ level: 'silent' });
  const { inventory, refusals } = buildCore({
    pool: db.pool,
    log,
    producer: 'test',
    ...(o.policyCacheMs === undefined ? {} : { policyCacheMs: o.policyCacheMs }),
  });
  return {
    db,
    log,
    inventory,
    refusals,
    async close() {
      await refusals.close();
      await db.drop();
    },
  };
};

export const caller = (tenantId: string, signal?: AbortSignal): Caller => ({
  tenantId,
  operator: `${tenantId}-tester`,
  correlationId: randomUUID(),
  traceId: null,
  signal,
});

export type Line = [sku: string, locationId: string, quantity: number];

export const reserveInput = (
  reservationId: string,
  lines: Line[],
  extra: Partial<ReserveInput> = {},
): ReserveInput => ({
  reservationId,
  channel: 'ECOMMERCE',
  lines: lines.map(([sku, locationId, quantity]) => ({ sku, locationId, quantity, unit: '' })),
  ttlMs: null,
  orderRef: '',
  ...extra,
});

export const receiveInput = (movementId: string, sku: string, locationId: string, quantity: number): ReceiveInput => ({
  movementId,
  sku,
  locationId,
  quantity,
  unit: '',
  reference: '',
  channel: null,
});

export const accepted = <T>(outcome: Outcome<T>): T => {
  if (!outcome.ok) throw new Error(`expected success, got refusal ${JSON.stringify(outcome.refusal)}`);
  return outcome.value;
};

export const refused = <T, R extends Refusal>(outcome: Outcome<T, R>): R => {
  if (outcome.ok) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  return outcome.refusal;
};

/** One stock item's levels, available units, status and version, as QueryStock (strong) answers them. */
export const levelsOf = async (inventory: Inventory, tenantId: string, sku: string, locationId = 'wh-1') => {
  const [view] = await inventory.queryStock(caller(tenantId), [{ sku, locationId }]);
  if (view === undefined) throw new Error('queryStock answered no view');
  return { ...view.levels, available: view.available, status: view.status, version: view.version };
};

/** The error a call that must fail rejected with. */
export const rejection = async (call: Promise<unknown>): Promise<unknown> => {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error('the call succeeded but was expected to fail');
};

/** SQL probes on the ledger, independent of the code under test. */
export const probes = (db: TestDatabase) => {
  const one = async <T>(text: string, values: unknown[] = []): Promise<T> => {
    const { rows } = await db.pool.query(text, values);
    return rows[0] as T;
  };
  return {
    eventCount: async (tenantId?: string): Promise<number> =>
      Number(
        (
          await one<{ n: string }>('select count(*) as n from events where $1::text is null or tenant_id = $1', [
            tenantId ?? null,
          ])
        ).n,
      ),
    eventsOfType: async (
      eventType: string,
      tenantId?: string,
    ): Promise<{ data: Record<string, unknown>; metadata: Record<string, unknown> }[]> =>
      (
        await db.pool.query(
          `select data, metadata from events where event_type = $1 and ($2::text is null or tenant_id = $2) order by global_position`,
          [eventType, tenantId ?? null],
        )
      ).rows,
    /** Event types of a reservation's stream, in order. */
    reservationEventTypes: async (tenantId: string, reservationId: string): Promise<string[]> =>
      (
        await db.pool.query<{ event_type: string }>(
          `select e.event_type from events e join streams s using (stream_id)
           where s.tenant_id = $1 and s.kind = 'reservation' and s.reservation_id = $2 order by e.version`,
          [tenantId, reservationId],
        )
      ).rows.map((r) => r.event_type),
    /** The stream's version, or null when the stream row does not exist. */
    stockVersion: async (tenantId: string, sku: string, locationId: string): Promise<number | null> =>
      (
        await one<{ version: number } | undefined>(
          `select version from streams where tenant_id = $1 and kind = 'stock_item' and sku = $2 and location_id = $3`,
          [tenantId, sku, locationId],
        )
      )?.version ?? null,
    reservationVersion: async (tenantId: string, reservationId: string): Promise<number | null> =>
      (
        await one<{ version: number } | undefined>(
          `select version from streams where tenant_id = $1 and kind = 'reservation' and reservation_id = $2`,
          [tenantId, reservationId],
        )
      )?.version ?? null,
    streamCount: async (): Promise<number> => Number((await one<{ n: string }>('select count(*) as n from streams')).n),
    idempotencyRows: async (tenantId: string, scope: string, key: string): Promise<number> =>
      Number(
        (
          await one<{ n: string }>(
            'select count(*) as n from idempotency_keys where tenant_id = $1 and scope = $2 and key = $3',
            [tenantId, scope, key],
          )
        ).n,
      ),
  };
};
