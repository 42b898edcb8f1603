// Tenant policies are data: one zod schema, read by every process that labels or decides stock
// (the core, the analytics projector, the seed), stored as versioned rows by the core.
import { z } from 'zod';

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
