// Policy use cases: GetPolicy, PutPolicy (validated, versioned updates), and the TTL a channel's hold gets.
import type { z } from 'zod';
import { tenantPolicySchema } from '../../../contracts/policy.js';
import { AppError, invalidArgument } from '../../../platform/errors.js';
import { insertPolicy, readPolicyRecord } from '../store/policies.js';
import type pg from 'pg';
import type { Channel } from '../domain/shared.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
import type { PolicyRecord, PolicySource } from '../store/policies.js';
import type { Caller } from './caller.js';

export const reservationTtlMs = (policy: TenantPolicy, channel: Channel): number =>
  policy.reservationTtlSeconds[channel] * 1000;

/** The longest hold a caller may ask for on the channel. */
export const maxReservationTtlMs = (policy: TenantPolicy, channel: Channel): number =>
  policy.maxReservationTtlSeconds[channel] * 1000;

// camelCase to snake_case; channel keys (B2B, ECOMMERCE) stay as they are.
const snake = (s: string) => (/^[A-Z0-9_]+$/.test(s) ? s : s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

/** zod issues as field violations named like the request fields (policy.low_stock_threshold). */
const violations = (error: z.ZodError) =>
  error.issues.map((i) => ({
    field: ['policy', ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : snake(String(p))))]
      .join('.')
      .replaceAll('.[', '['),
    description: i.message,
  }));

/**
 * Writes the next version of a tenant's policy, validated by the one schema. `expectedVersion` is
 * the version the caller read: a concurrent update in between answers ABORTED, never a lost update.
 */
const updatePolicy = async (
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
  const updatedAt = await insertPolicy(pool, tenantId, parsed.data, expectedVersion, operator);
  if (updatedAt === null) {
    throw new AppError(
      'ABORTED',
      `the policy changed since version ${expectedVersion}; read it again and reapply your change`,
      {
        reason: 'POLICY_VERSION_CONFLICT',
        metadata: { expected_version: String(expectedVersion) },
      },
    );
  }
  return { version: expectedVersion + 1, policy: parsed.data, updatedAt, updatedBy: operator };
};

export const createPolicyUseCases = (deps: { pool: pg.Pool; readPool: pg.Pool; policies: PolicySource }) => ({
  getPolicy: (caller: Caller) => readPolicyRecord(deps.readPool, caller.tenantId),
  putPolicy: async (caller: Caller, input: unknown, expectedVersion: number) => {
    const record = await updatePolicy(deps.pool, caller.tenantId, input, expectedVersion, caller.operator);
    // This process applies the new version at once; the others within the policy cache's TTL.
    deps.policies.forget(caller.tenantId);
    return record;
  },
});
