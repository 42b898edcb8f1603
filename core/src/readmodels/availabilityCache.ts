// QueryStock's eventual path: one Redis round trip for many keys, a short
// timeout, and a circuit breaker so a sick Redis costs one timeout, not one per call.
import { FIELDS, fromFields } from '../../../contracts/availabilityRecord.js';
import { availabilityKey } from '../../../contracts/names.js';
import type { Redis } from 'ioredis';
import type { AvailabilityRecord } from '../../../contracts/availabilityRecord.js';

export type AvailabilityCache = {
  /** One entry per key in order (null = never projected), or throws when Redis cannot answer. */
  read(tenantId: string, keys: { sku: string; locationId: string }[]): Promise<(AvailabilityRecord | null)[]>;
  isOpen(): boolean;
};

export const createAvailabilityCache = (
  redis: Redis,
  namespace: string,
  o: { failuresToOpen?: number; openMs?: number; now?: () => number } = {},
): AvailabilityCache => {
  const failuresToOpen = o.failuresToOpen ?? 3;
  const openMs = o.openMs ?? 1_000;
  const now = o.now ?? Date.now;
  let failures = 0;
  let openUntil = 0;
  return {
    isOpen: () => now() < openUntil,
    async read(tenantId, keys) {
      if (now() < openUntil) throw new Error('availability cache circuit open');
      try {
        if (redis.status !== 'ready') throw new Error(`redis is ${redis.status}`);
        const pipeline = redis.pipeline();
        for (const k of keys) pipeline.hmget(availabilityKey(namespace, tenantId, k.locationId, k.sku), ...FIELDS);
        const results = (await pipeline.exec()) ?? [];
        const records = results.map(([err, values]) => {
          if (err) throw err;
          return fromFields(values as (string | null)[]);
        });
        failures = 0;
        return records;
      } catch (err) {
        failures++;
        if (failures >= failuresToOpen) openUntil = now() + openMs;
        throw err;
      }
    },
  };
};
