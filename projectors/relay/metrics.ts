// The relay's gauges, refreshed on a timer so a scrape never waits on Postgres: its lag in events
// and seconds (what it has not published yet), and the age of the oldest open transaction in the
// database (any open write transaction holds the relay back, ARCHITECTURE.md "Reading in commit order").
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Metrics } from '../../platform/telemetry/metrics.js';
import type { Relay } from './relay.js';

/** Seconds since the oldest transaction still open in this database began (0 when none is). */
export const oldestTransactionAge = async (pool: pg.Pool): Promise<number> => {
  const { rows } = await pool.query<{ age: number | null }>(
    `select extract(epoch from max(clock_timestamp() - xact_start))::float8 as age
       from pg_stat_activity
      where datname = current_database() and backend_type = 'client backend'
        and xact_start is not null and pid <> pg_backend_pid()`,
  );
  return Math.max(0, rows[0]?.age ?? 0);
};

export const startRelayMetrics = (o: {
  relay: Relay;
  pool: pg.Pool;
  metrics: Metrics;
  log: Logger;
  everyMs?: number;
}): { stop(): void } => {
  const lagEvents = o.metrics.gauge('relay_lag_events', 'Committed events the relay has not published yet');
  const lagSeconds = o.metrics.gauge('relay_lag_seconds', 'Age of the oldest committed event not published yet');
  const oldest = o.metrics.gauge(
    'oldest_transaction_age_seconds',
    'Age of the oldest open transaction in the ledger database (it holds the relay back)',
  );
  let ticks = 0;
  const refresh = async () => {
    const [lag, age] = await Promise.all([o.relay.lag(), oldestTransactionAge(o.pool)]);
    lagEvents.set(lag.events);
    lagSeconds.set(lag.seconds);
    oldest.set(age);
    // The metrics say it every few seconds; the log twice a minute.
    if (ticks++ % 6 === 0)
      o.log.info(
        { lagEvents: lag.events, lagSeconds: lag.seconds, leader: o.relay.isLeader(), published: o.relay.published() },
        'relay lag',
      );
  };
  const timer = setInterval(() => void refresh().catch(() => undefined), o.everyMs ?? 5_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
};
