// What the core's use cases report for the metrics: a port the app calls, built from the process's
// registry in main.ts. The app never sees prom-client.
import { AppError } from '../../../platform/errors.js';
import type { Metrics } from '../../../platform/telemetry/metrics.js';

/**
 * Where an availability read was answered: `redis` (the read model), `ledger` (a STRONG read),
 * `ledger_fallback` (an EVENTUAL read the ledger answered: Redis missed the key or was down),
 * `redis_fallback` (a STRONG read Redis answered, stale, because the ledger was down).
 */
export type ReadSource = 'redis' | 'ledger' | 'ledger_fallback' | 'redis_fallback';

export type ReservationOutcome = 'reserved' | 'refused' | 'failed';

export type CoreObserver = {
  reservation(outcome: ReservationOutcome, reason: string, channel: string): void;
  /** The reason label of a failed reservation: what the API answers (ErrorInfo reason), never a message. */
  reasonOf(err: unknown): string;
  /** A transaction of `size` commands took `ms`. */
  batch(size: number, ms: number): void;
  reads(source: ReadSource, keys: number): void;
};

/** An application error's reason or code; anything else is the API's to name (main.ts passes its mapping). */
const appReason = (err: unknown): string => (err instanceof AppError ? (err.details.reason ?? err.code) : 'INTERNAL');

export const quietObserver: CoreObserver = {
  reservation: () => undefined,
  reasonOf: appReason,
  batch: () => undefined,
  reads: () => undefined,
};

export const metricsObserver = (metrics: Metrics, reasonOf: (err: unknown) => string = appReason): CoreObserver => {
  const reservations = metrics.counter(
    'reservations_total',
    'ReserveStock answers: reserved, refused (reason INSUFFICIENT_STOCK…) or failed (an error), per channel',
    ['outcome', 'reason', 'channel'],
  );
  const batches = metrics.histogram(
    'core_batch_size',
    'Commands decided per ledger transaction (1 until group commit)',
    [],
    [1, 2, 4, 8, 16, 32, 64, 128, 256],
  );
  const reads = metrics.counter('availability_reads_total', 'Stock items read, by where they were answered', [
    'source',
  ]);
  // Label children looked up once: prom-client hashes the label values on every labelled call.
  const outcomes = new Map<string, { inc(): void }>();
  const sources = new Map<ReadSource, { inc(n: number): void }>();
  return {
    reasonOf,
    reservation(outcome, reason, channel) {
      const key = `${outcome}\u0000${reason}\u0000${channel}`;
      let child = outcomes.get(key);
      if (child === undefined) {
        child = reservations.labels(outcome, reason, channel.toLowerCase());
        outcomes.set(key, child);
      }
      child.inc();
    },
    batch: (size) => batches.observe(size),
    reads(source, keys) {
      if (keys <= 0) return;
      let child = sources.get(source);
      if (child === undefined) {
        child = reads.labels(source);
        sources.set(source, child);
      }
      child.inc(keys);
    },
  };
};
