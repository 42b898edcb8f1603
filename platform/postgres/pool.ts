// Postgres pool with every timeout set: a stuck lock or a dead server must
// surface as a clear error, never as a hung request.
import pg from 'pg';
import type { Metrics } from '../telemetry/metrics.js';

export type PoolOptions = {
  databaseUrl: string;
  max: number;
  applicationName: string;
  /** Per statement; a statement running longer is cancelled. */
  statementTimeoutMs?: number;
  /** Longest wait for a row lock; a hot SKU queues, but never for ever. */
  lockTimeoutMs?: number;
  /** Longest wait for a connection; the read path keeps it short so a fallback answers in time. */
  connectTimeoutMs?: number;
};

export const createPool = (o: PoolOptions): pg.Pool => {
  const pool = new pg.Pool({
    connectionString: o.databaseUrl,
    max: o.max,
    application_name: o.applicationName,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: o.statementTimeoutMs ?? 5_000,
    lock_timeout: o.lockTimeoutMs ?? 2_000,
    // An abandoned transaction would hold back every reader in commit order.
    idle_in_transaction_session_timeout: 10_000,
  });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);
  return pool;
};

/**
 * Records how long each checkout waited for a connection in pg_pool_wait_seconds{pool}: the pool's
 * own `query` checks out through `connect` too, so every statement counts.
 */
export const measurePoolWaits = (pool: pg.Pool, metrics: Metrics, name: string): pg.Pool => {
  const waits = metrics.histogram('pg_pool_wait_seconds', 'Time a Postgres checkout waited for a connection', ['pool']);
  const observe = waits.labels(name);
  const connect = pool.connect.bind(pool) as (cb?: (...args: unknown[]) => void) => Promise<pg.PoolClient> | undefined;
  (pool as { connect: unknown }).connect = (cb?: (...args: unknown[]) => void) => {
    const started = performance.now();
    const done = () => observe.observe((performance.now() - started) / 1000);
    if (typeof cb === 'function')
      return connect((...args: unknown[]) => {
        done();
        cb(...args);
      });
    return (connect() as Promise<pg.PoolClient>).finally(done);
  };
  return pool;
};

/** Runs `work` on the server's maintenance database (`postgres`), with the name of the URL's database. */
const onServer = async (
  databaseUrl: string,
  work: (admin: pg.Client, name: string) => Promise<void>,
): Promise<void> => {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '' || name === 'postgres') return;
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3_000 });
  await admin.connect();
  try {
    await work(admin, name);
  } finally {
    await admin.end();
  }
};

/** Creates the database named in the URL when it is missing; safe when several processes race. */
export const ensureDatabase = (databaseUrl: string): Promise<void> =>
  onServer(databaseUrl, async (admin, name) => {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) {
      await admin.query(`create database ${quoteIdent(name)}`).catch((err: unknown) => {
        // 42P04 duplicate_database / 23505 unique_violation: another process created it first.
        if (!isPgError(err, '42P04') && !isPgError(err, '23505')) throw err;
      });
    }
  });

/** Drops the database named in the URL, ending its sessions; nothing when it does not exist. */
export const dropDatabase = (databaseUrl: string): Promise<void> =>
  onServer(databaseUrl, async (admin, name) => {
    await admin.query(`drop database if exists ${quoteIdent(name)} with (force)`);
  });

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export type PgError = Error & { code: string };

export const isPgError = (err: unknown, code?: string): err is PgError =>
  err instanceof Error &&
  typeof (err as Partial<PgError>).code === 'string' &&
  (code === undefined || (err as PgError).code === code);

/** The server is unreachable or went away (not a query's fault). */
export const isConnectionError = (err: unknown): boolean => {
  if (!(err instanceof Error)) return false;
  const code = (err as Partial<PgError>).code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code) ||
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now
    /Connection terminated|Client has encountered a connection error/i.test(err.message)
  );
};

/** pg-pool's words when a checkout waited too long: every connection busy, or a server that never answers. */
export const POOL_CHECKOUT_TIMEOUT = 'timeout exceeded when trying to connect';

/**
 * Whether the ledger is unreachable, as opposed to busy: a checkout timeout
 * counts as "down" only when the pool holds no live connection at all (a
 * healthy server keeps idle connections; a saturated pool is busy, not down).
 */
export const isLedgerDown = (err: unknown, pool: pg.Pool): boolean =>
  isConnectionError(err) || (err instanceof Error && err.message === POOL_CHECKOUT_TIMEOUT && pool.totalCount === 0);
