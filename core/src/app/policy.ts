// Tenant policies are data: one zod schema, versioned rows, one code path for all tenants.
import { z } from 'zod';
import { isLedgerDown } from '../store/db.js';
import type pg from 'pg';
import type { Channel } from '../domain/shared.js';

const seconds = z.number().int().positive().max(30 * 24 * 3600);

export const tenantPolicySchema = z.object({
  reservationTtlSeconds: z
    .object({
      ECOMMERCE: seconds.default(15 * 60),
      MARKETPLACE: seconds.default(30 * 60),
      B2B: seconds.default(48 * 3600),
      POS: seconds.default(5 * 60),
    })
    .prefault({}),
  safetyStock: z.number().int().min(0).default(0),
  lowStockThreshold: z.number().int().min(0).default(5),
  returnWindowDays: z.number().int().min(0).default(30),
  qualityCheckRequired: z.boolean().default(true),
  timeZone: z.string().default('UTC'),
});

export type TenantPolicy = z.infer<typeof tenantPolicySchema>;

/** A policy and the version it was read at (0 = the defaults, never written). */
export type VersionedPolicy = { version: number; policy: TenantPolicy };

export const DEFAULT_POLICY: VersionedPolicy = { version: 0, policy: tenantPolicySchema.parse({}) };

export const reservationTtlMs = (policy: TenantPolicy, channel: Channel): number => policy.reservationTtlSeconds[channel] * 1000;

/**
 * `read`: when the ledger is unreachable, answer with the last known policy
 * (or the defaults) so stale reads still label stock. `write` (the default):
 * never decide with a guessed policy; the error propagates (UNAVAILABLE).
 */
export type PolicyPurpose = 'read' | 'write';

export type PolicySource = { get(tenantId: string, purpose?: PolicyPurpose): Promise<VersionedPolicy> };

/**
 * Reads the newest policy per tenant, cached briefly: a policy change takes
 * effect within `ttlMs` on every core process.
 */
export const createPolicySource = (pool: pg.Pool, ttlMs = 5_000, now: () => number = Date.now): PolicySource => {
  const cache = new Map<string, { at: number; value: VersionedPolicy }>();
  return {
    async get(tenantId, purpose = 'write') {
      const hit = cache.get(tenantId);
      if (hit !== undefined && now() - hit.at < ttlMs) return hit.value;
      let rows: { version: number; policy: unknown }[];
      try {
        ({ rows } = await pool.query<{ version: number; policy: unknown }>({
          name: 'sm_policy_latest',
          text: 'select version, policy from tenant_policies where tenant_id = $1 order by version desc limit 1',
          values: [tenantId],
        }));
      } catch (err) {
        // With the ledger down, reads still answer (stale): keep the last known policy, else the defaults.
        if (purpose === 'write' || !isLedgerDown(err, pool)) throw err;
        return hit?.value ?? DEFAULT_POLICY;
      }
      const row = rows[0];
      const value = row === undefined ? DEFAULT_POLICY : { version: row.version, policy: tenantPolicySchema.parse(row.policy) };
      cache.set(tenantId, { at: now(), value });
      return value;
    },
  };
};
