// Tenant policies are data: one zod schema, read by every process that labels or decides stock
// (the core, the analytics projector, the seed), stored as versioned rows by the core.
import { z } from 'zod';

const seconds = z
  .number()
  .int()
  .positive()
  .max(30 * 24 * 3600);

const CHANNEL_KEYS = ['ECOMMERCE', 'MARKETPLACE', 'B2B', 'POS'] as const;
type ChannelKey = (typeof CHANNEL_KEYS)[number];

/**
 * The longest hold a caller may ask for per channel (ReserveStock's ttl), when the tenant set none:
 * an abandoned checkout or a cash desk should not keep stock for days. A tenant whose hold time
 * is longer than this gets its hold time as the maximum.
 */
export const DEFAULT_MAX_TTL_SECONDS: Record<ChannelKey, number> = {
  ECOMMERCE: 2 * 3600,
  MARKETPLACE: 24 * 3600,
  B2B: 7 * 24 * 3600,
  POS: 3600,
};

const policyDocument = z.object({
  reservationTtlSeconds: z
    .object({
      ECOMMERCE: seconds.default(15 * 60),
      MARKETPLACE: seconds.default(30 * 60),
      B2B: seconds.default(48 * 3600),
      POS: seconds.default(5 * 60),
    })
    .prefault({}),
  /** Unset channels: DEFAULT_MAX_TTL_SECONDS, or the channel's hold time if that is longer. */
  maxReservationTtlSeconds: z
    .object({
      ECOMMERCE: seconds.optional(),
      MARKETPLACE: seconds.optional(),
      B2B: seconds.optional(),
      POS: seconds.optional(),
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

export const tenantPolicySchema = policyDocument
  .superRefine((p, ctx) => {
    for (const c of CHANNEL_KEYS) {
      const max = p.maxReservationTtlSeconds[c];
      if (max !== undefined && max < p.reservationTtlSeconds[c])
        ctx.addIssue({
          code: 'custom',
          path: ['maxReservationTtlSeconds', c],
          message: `below the channel's own hold time (${p.reservationTtlSeconds[c]} s)`,
        });
    }
  })
  .transform((p) => ({
    ...p,
    maxReservationTtlSeconds: Object.fromEntries(
      CHANNEL_KEYS.map((c) => [
        c,
        p.maxReservationTtlSeconds[c] ?? Math.max(DEFAULT_MAX_TTL_SECONDS[c], p.reservationTtlSeconds[c]),
      ]),
    ) as Record<ChannelKey, number>,
  }));

export type TenantPolicy = z.infer<typeof tenantPolicySchema>;

/** A policy and the version it was read at (0 = the defaults, never written). */
export type VersionedPolicy = { version: number; policy: TenantPolicy };

export const DEFAULT_POLICY: VersionedPolicy = { version: 0, policy: tenantPolicySchema.parse({}) };
