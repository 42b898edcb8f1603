// Reading and writing tenant policies: versioned rows, the newest wins, cached briefly per process.
import { DEFAULT_POLICY, tenantPolicySchema } from '../../../contracts/policy.js';
import { isLedgerDown } from '../../../platform/postgres/pool.js';
import type pg from 'pg';
import type { TenantPolicy, VersionedPolicy } from '../../../contracts/policy.js';

/**
 * `read`: when the ledger is unreachable, answer with the last known policy
 * (or the defaults) so stale reads still label stock. `write` (the default):
 * never decide with a guessed policy; the error propagates (UNAVAILABLE).
 */
export type PolicyPurpose = 'read' | 'write';

export type PolicySource = {
  get(tenantId: string, purpose?: PolicyPurpose): Promise<VersionedPolicy>;
  forget(tenantId: string): void;
};

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
      const value =
        row === undefined ? DEFAULT_POLICY : { version: row.version, policy: tenantPolicySchema.parse(row.policy) };
      cache.set(tenantId, { at: now(), value });
      return value;
    },
    forget: (tenantId) => void cache.delete(tenantId),
  };
};

export type PolicyRecord = VersionedPolicy & { updatedAt: Date | null; updatedBy: string };

export const readPolicyRecord = async (pool: pg.Pool, tenantId: string): Promise<PolicyRecord> => {
  const { rows } = await pool.query<{ version: number; policy: unknown; updated_at: Date; updated_by: string }>({
    name: 'sm_policy_record',
    text: 'select version, policy, updated_at, updated_by from tenant_policies where tenant_id = $1 order by version desc limit 1',
    values: [tenantId],
  });
  const row = rows[0];
  if (row === undefined) return { ...DEFAULT_POLICY, updatedAt: null, updatedBy: '' };
  return {
    version: row.version,
    policy: tenantPolicySchema.parse(row.policy),
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
};

/**
 * Inserts version `expectedVersion + 1` only if `expectedVersion` is still the newest; null when a
 * concurrent update got there first.
 */
export const insertPolicy = async (
  pool: pg.Pool,
  tenantId: string,
  policy: TenantPolicy,
  expectedVersion: number,
  operator: string,
): Promise<Date | null> => {
  const { rows } = await pool.query<{ updated_at: Date }>({
    name: 'sm_policy_insert',
    text: `insert into tenant_policies (tenant_id, version, policy, updated_by)
           select $1, $2 + 1, $3, $4
           where coalesce((select max(version) from tenant_policies where tenant_id = $1), 0) = $2
           on conflict do nothing
           returning updated_at`,
    values: [tenantId, expectedVersion, JSON.stringify(policy), operator],
  });
  return rows[0]?.updated_at ?? null;
};
