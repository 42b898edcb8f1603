// Tenant policies are data: one zod schema, versioned rows, one code path for all tenants.
import { z } from 'zod';
import { isLedgerDown } from '../../../platform/postgres/pool.js';
import { AppError, invalidArgument } from '../../../platform/errors.js';
import type pg from 'pg';
import type { Channel } from '../domain/shared.js';

const seconds = z
  .number()
  .int()
  .positive()
  .max(30 * 24 * 3600);

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
  timeZone: z
    .string()
    .default('UTC')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'an IANA time zone, e.g. "Europe/Paris"'),
  /** Per product per location: alert at or below `reorderPoint`, order up to `targetLevel`. */
  replenishment: z
    .array(
      z
        .object({
          sku: z.string().min(1).max(128),
          locationId: z.string().min(1).max(128),
          reorderPoint: z.number().int().min(0),
          targetLevel: z.number().int().min(1),
        })
        .refine((r) => r.targetLevel > r.reorderPoint, {
          message: 'target_level must be above reorder_point',
          path: ['targetLevel'],
        }),
    )
    .max(10_000)
    .default([])
    .refine(
      (rs) => new Set(rs.map((r) => JSON.stringify([r.sku, r.locationId]))).size === rs.length,
      'one threshold per sku and location',
    ),
});

export type TenantPolicy = z.infer<typeof tenantPolicySchema>;

/** A policy and the version it was read at (0 = the defaults, never written). */
export type VersionedPolicy = { version: number; policy: TenantPolicy };

export const DEFAULT_POLICY: VersionedPolicy = { version: 0, policy: tenantPolicySchema.parse({}) };

export const reservationTtlMs = (policy: TenantPolicy, channel: Channel): number =>
  policy.reservationTtlSeconds[channel] * 1000;

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

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** zod issues as field violations named like the request fields (policy.low_stock_threshold). */
const violations = (error: z.ZodError) =>
  error.issues.map((i) => ({
    field: ['policy', ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : snake(String(p))))]
      .join('.')
      .replaceAll('.[', '['),
    description: i.message,
  }));

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
 * Writes the next version of a tenant's policy, validated by the one schema. `expectedVersion` is
 * the version the caller read: a concurrent update in between answers ABORTED, never a lost update.
 */
export const updatePolicy = async (
  pool: pg.Pool,
  tenantId: string,
  input: unknown,
  expectedVersion: number,
  operator: string,
): Promise<PolicyRecord> => {
  const parsed = tenantPolicySchema.safeParse(input);
  if (!parsed.success) throw invalidArgument(violations(parsed.error));
  if (!(Number.isSafeInteger(expectedVersion) && expectedVersion >= 0))
    throw invalidArgument([{ field: 'expected_version', description: 'the version you read (0 for the defaults)' }]);
  const { rows } = await pool.query<{ updated_at: Date }>({
    name: 'sm_policy_insert',
    text: `insert into tenant_policies (tenant_id, version, policy, updated_by)
           select $1, $2 + 1, $3, $4
           where coalesce((select max(version) from tenant_policies where tenant_id = $1), 0) = $2
           on conflict do nothing
           returning updated_at`,
    values: [tenantId, expectedVersion, JSON.stringify(parsed.data), operator],
  });
  const row = rows[0];
  if (row === undefined) {
    throw new AppError(
      'ABORTED',
      `the policy changed since version ${expectedVersion}; read it again and reapply your change`,
      {
        reason: 'POLICY_VERSION_CONFLICT',
        metadata: { expected_version: String(expectedVersion) },
      },
    );
  }
  return { version: expectedVersion + 1, policy: parsed.data, updatedAt: row.updated_at, updatedBy: operator };
};
