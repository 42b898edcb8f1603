// One short transaction per command. Nothing commits once the caller gave up.
import { POOL_CHECKOUT_TIMEOUT, isConnectionError, isPgError } from './pool.js';
import type pg from 'pg';

export class CancelledBeforeCommit extends Error {
  override name = 'CancelledBeforeCommit';
}

export type TxOutcome<T> = { commit: boolean; value: T };

const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
const MAX_ATTEMPTS = 4;

/** Every connection stayed busy for the pool's whole wait: the ledger is healthy but saturated. */
export class PoolBusy extends Error {
  override name = 'PoolBusy';
}

const MAX_QUEUE_MS = 10_000;

/**
 * A pooled connection. A burst on one hot SKU keeps every connection busy for
 * longer than the pool's connect timeout while the ledger is healthy, so a
 * queued command keeps its turn while its caller still waits (the deadline
 * fires the signal), up to MAX_QUEUE_MS, and then answers "busy", not "down".
 */
const checkout = async (pool: pg.Pool, signal: AbortSignal | undefined): Promise<pg.PoolClient> => {
  const started = Date.now();
  for (;;) {
    try {
      return await untilAborted(pool.connect(), signal);
    } catch (err) {
      if (!(err instanceof Error && err.message === POOL_CHECKOUT_TIMEOUT)) throw err;
      if (Date.now() - started >= MAX_QUEUE_MS)
        throw new PoolBusy('every ledger connection stayed busy; nothing was applied, retry shortly');
    }
  }
};

const untilAborted = (pending: Promise<pg.PoolClient>, signal: AbortSignal | undefined): Promise<pg.PoolClient> =>
  new Promise((resolve, reject) => {
    const onAbort = () =>
      reject(new CancelledBeforeCommit('the caller cancelled while waiting for a connection; nothing was applied'));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (client) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) client.release();
        else resolve(client);
      },
      (err: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });

/**
 * Runs `work` in a READ COMMITTED transaction. It commits only when `work`
 * says so (a refusal rolls back) and the signal has not fired; a deadlock or
 * serialization failure is retried a bounded number of times.
 */
export const inTransaction = async <T>(
  pool: pg.Pool,
  signal: AbortSignal | undefined,
  work: (client: pg.PoolClient) => Promise<TxOutcome<T>>,
): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new CancelledBeforeCommit('the caller cancelled before the command ran');
    const client = await checkout(pool, signal);
    // A checked-out client has no pool listener: without one, the server going away mid-command
    // would be an unhandled 'error' event and end the process. The failing query reports it.
    const onError = () => undefined;
    client.on('error', onError);
    let broken: unknown;
    try {
      await client.query('begin isolation level read committed');
      const outcome = await work(client);
      if (!outcome.commit) {
        await client.query('rollback');
        return outcome.value;
      }
      if (signal?.aborted) {
        await client.query('rollback');
        throw new CancelledBeforeCommit('the caller cancelled before commit; nothing was applied');
      }
      await client.query('commit');
      return outcome.value;
    } catch (err) {
      // A clean rollback proves the session is usable, whatever `work` threw (a SQL error, a
      // NOT_FOUND, our own cancellation); only a failed rollback or a lost connection drops it.
      const rolledBack = await client.query('rollback').then(
        () => true,
        () => false,
      );
      if (!rolledBack || isConnectionError(err)) broken = err;
      if (!(isPgError(err) && RETRYABLE.has(err.code) && attempt < MAX_ATTEMPTS)) throw err;
    } finally {
      client.off('error', onError);
      // A client whose connection failed must not go back to the pool.
      client.release(broken === undefined ? undefined : broken instanceof Error ? broken : new Error(String(broken)));
    }
    // A jittered pause, so the deadlock victim does not grab the same rows again before the survivor.
    await new Promise((resolve) => setTimeout(resolve, attempt * (5 + Math.random() * 20)));
  }
};
