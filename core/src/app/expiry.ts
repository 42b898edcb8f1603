// The core releases due reservations itself (not a projector), so expiry keeps working while NATS
// is down and with any number of core processes: each claims one due row with SKIP LOCKED, and the
// database clock decides what is due.
import { randomUUID } from 'node:crypto';
import { inTransaction } from '../../../platform/postgres/tx.js';
import { isConnectionError } from '../../../platform/postgres/pool.js';
import { transitionCommand } from './transitions.js';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Caller } from './caller.js';
import type { CommandHandler } from './commandSpec.js';

/** Expires at most one due reservation; false when none is due. */
export type ExpireNextDue = (operator: string, correlationId: string) => Promise<boolean>;

export const createExpireNextDue =
  (deps: {
    pool: pg.Pool;
    handler: Pick<CommandHandler, 'handleIn'>;
    /** A due reservation failed to expire; its expiry is retried 30 s later, so it never blocks the others. */
    onExpiryError: (tenantId: string, reservationId: string, err: unknown) => void;
  }): ExpireNextDue =>
  (operator, correlationId) =>
    inTransaction(deps.pool, undefined, async (c) => {
      const { rows } = await c.query<{ tenant_id: string; reservation_id: string }>({
        name: 'sm_expiry_claim',
        text: `delete from reservation_expiry
               where ctid = (select ctid from reservation_expiry where expires_at <= clock_timestamp()
                             order by expires_at limit 1 for update skip locked)
               returning tenant_id, reservation_id`,
      });
      const due = rows[0];
      if (due === undefined) return { commit: false, value: false };
      const caller: Caller = { tenantId: due.tenant_id, operator, correlationId, traceId: null };
      const expire = transitionCommand(caller, due.reservation_id, 'expire', (now) => ({
        type: 'ExpireReservation',
        data: { now: now.toISOString() },
      }));
      await c.query('savepoint expire_one');
      try {
        await deps.handler.handleIn(c, caller, expire);
      } catch (err) {
        if (isConnectionError(err)) throw err;
        // Ordered by expires_at, one reservation that keeps failing would be claimed first for ever.
        await c.query('rollback to savepoint expire_one');
        await c.query({
          name: 'sm_expiry_postpone',
          text: `insert into reservation_expiry (tenant_id, reservation_id, expires_at) values ($1, $2, clock_timestamp() + interval '30 seconds')`,
          values: [due.tenant_id, due.reservation_id],
        });
        deps.onExpiryError(due.tenant_id, due.reservation_id, err);
      }
      // Commit even when nothing was due to expire (confirmed or released meanwhile): the claim row goes.
      return { commit: true, value: true };
    });

export type ExpiryLoop = { stop(): Promise<void> };

export const startExpiryLoop = (
  use: { expireNextDue: ExpireNextDue },
  intervalMs: number,
  log: Logger,
  maxPerPass = 500,
): ExpiryLoop => {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const pass = async () => {
    let expired = 0;
    try {
      while (!stopped && expired < maxPerPass && (await use.expireNextDue('system:expiry', randomUUID()))) expired++;
      if (expired > 0) log.info({ expired }, 'reservations expired');
    } catch (err) {
      log.warn({ err }, 'expiry pass failed; retrying on the next tick');
    }
    // A full pass means more are due: go again at once.
    if (!stopped) timer = setTimeout(run, expired >= maxPerPass ? 0 : intervalMs);
  };
  const run = () => {
    current = pass();
  };
  timer = setTimeout(run, intervalMs);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
};
