// Lost demand: refusals are counted and written in batches, after the refusing
// transaction ended, so a storm of refusals never holds a stream lock.
import type pg from 'pg';
import type { Logger } from 'pino';

export type DemandRefusal = {
  tenantId: string;
  channel: string | null;
  /** reserve, sale or dispatch; `reservationId` is that command's id. */
  command: string;
  reservationId: string;
  sku: string;
  locationId: string;
  requested: number;
  available: number;
  at: Date;
};

export type RefusalLog = { record(r: DemandRefusal): void; total(): number; close(): Promise<void> };

export const createRefusalLog = (pool: pg.Pool, log: Logger, flushEveryMs = 250, maxBuffered = 10_000): RefusalLog => {
  let buffer: DemandRefusal[] = [];
  let count = 0;
  let flushing: Promise<void> = Promise.resolve();

  const flush = async (): Promise<void> => {
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    const col = <K extends keyof DemandRefusal>(k: K) => batch.map((r) => r[k]);
    try {
      await pool.query(
        `insert into demand_refusals (tenant_id, channel, reservation_id, sku, location_id, requested, available, recorded_at, command)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::timestamptz[], $9::text[])`,
        [
          col('tenantId'),
          col('channel'),
          col('reservationId'),
          col('sku'),
          col('locationId'),
          col('requested'),
          col('available'),
          col('at'),
          col('command'),
        ],
      );
    } catch (err) {
      log.warn({ err, lost: batch.length }, 'could not record demand refusals (analytics only; stock is unaffected)');
    }
  };

  const timer = setInterval(() => {
    flushing = flushing.then(flush);
  }, flushEveryMs);
  timer.unref();

  return {
    record(r) {
      count++;
      if (buffer.length < maxBuffered) buffer.push(r);
    },
    total: () => count,
    async close() {
      clearInterval(timer);
      flushing = flushing.then(flush);
      await flushing;
    },
  };
};
