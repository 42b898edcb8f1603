// Commit -> visible in the Redis availability view, measured from the client:
// after a ReserveStock is acknowledged, the time until every line's Redis hash
// carries an `asOf` at or after the reservation's commit instant (the command
// timestamp the events were recorded with).
import { timestampDate } from '@bufbuild/protobuf/wkt';
import hdr from 'hdr-histogram-js';
import { availabilityKey } from '../../contracts/names.js';
import type { Redis } from 'ioredis';
import type { ReserveStockRequest, ReserveStockResponse } from '../../gen/stockmind/inventory/v1/reservations_pb.js';

export type LagSummary = {
  measured: number;
  pending: number;
  p50Ns: number;
  p95Ns: number;
  p99Ns: number;
  maxNs: number;
  pendingSample: string[];
};

export type LagTracker = {
  onReserved(request: ReserveStockRequest, response: ReserveStockResponse): void;
  /** Waits up to `drainMs` for the calls still pending, then stops polling. */
  finish(drainMs: number): Promise<LagSummary>;
};

export const createLagTracker = (redis: Redis, namespace: string, tenantId: string): LagTracker => {
  const histogram = hdr.build({
    bitBucketSize: 64,
    autoResize: true,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  const pending = new Map<string, { asOf: string; at: number }[]>();
  let max = 0;
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      const keys = [...pending.keys()];
      if (keys.length === 0) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const pipeline = redis.pipeline();
      for (const k of keys) pipeline.hget(k, 'asOf');
      const results = (await pipeline.exec().catch(() => null)) ?? [];
      const now = performance.now();
      keys.forEach((k, i) => {
        const seen = results[i]?.[1];
        if (typeof seen !== 'string') return;
        const waiting = pending.get(k) ?? [];
        const left = waiting.filter((w) => {
          if (w.asOf > seen) return true;
          const ns = Math.max(1, Math.round((now - w.at) * 1e6));
          histogram.recordValue(ns);
          if (ns > max) max = ns;
          return false;
        });
        if (left.length === 0) pending.delete(k);
        else pending.set(k, left);
      });
      await new Promise((r) => setImmediate(r));
    }
  };
  const loop = poll();
  return {
    onReserved(request, response) {
      const created = response.reservation?.createdAt;
      if (created === undefined) return;
      // ISO strings of the same precision compare in time order.
      const asOf = timestampDate(created).toISOString();
      const at = performance.now();
      for (const line of request.lines) {
        const key = availabilityKey(namespace, tenantId, line.locationId, line.sku);
        const list = pending.get(key) ?? [];
        list.push({ asOf, at });
        pending.set(key, list);
      }
    },
    async finish(drainMs) {
      const until = performance.now() + drainMs;
      while (pending.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
      stopped = true;
      await loop;
      const left = [...pending.values()].reduce((a, l) => a + l.length, 0);
      const p = (q: number) => (histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(q));
      const pendingSample = [...pending.entries()]
        .slice(0, 5)
        .map(([k, l]) => `${k} wants asOf >= ${l[0]?.asOf ?? '?'}`);
      return {
        measured: histogram.totalCount,
        pending: left,
        p50Ns: p(50),
        p95Ns: p(95),
        p99Ns: p(99),
        maxNs: max,
        pendingSample,
      };
    },
  };
};
