// The availability read model in Redis: one hash per stock item holding the
// levels after its newest applied event. Written by the availability
// projector, read by QueryStock; both use these helpers.

/** A stock item's levels as they cross processes (the domain's Levels has this shape). */
export type Levels = { onHand: number; reserved: number; committed: number; inTransit: number; quarantined: number };

export type AvailabilityRecord = { version: number; levels: Levels; asOf: string };

export const FIELDS = ['version', 'onHand', 'reserved', 'committed', 'inTransit', 'quarantined', 'asOf'] as const;

export const toArgs = (r: AvailabilityRecord): string[] => [
  String(r.version),
  String(r.levels.onHand),
  String(r.levels.reserved),
  String(r.levels.committed),
  String(r.levels.inTransit),
  String(r.levels.quarantined),
  r.asOf,
];

/** From HMGET key ...FIELDS; null when the item was never projected. */
export const fromFields = (values: (string | null)[]): AvailabilityRecord | null => {
  const [version, onHand, reserved, committed, inTransit, quarantined, asOf] = values;
  if (version == null || asOf == null) return null;
  return {
    version: Number(version),
    levels: {
      onHand: Number(onHand),
      reserved: Number(reserved),
      committed: Number(committed),
      inTransit: Number(inTransit),
      quarantined: Number(quarantined),
    },
    asOf,
  };
};

/**
 * Applies a record only if it is the next version (returns 1), skips an older
 * or equal one (0), and reports a gap (-1) so the caller fills it from
 * Postgres. With ARGV[8] = "force" any newer version is applied (gap fill, replay).
 */
export const APPLY_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local incoming = tonumber(ARGV[1])
if incoming <= current then return 0 end
if incoming > current + 1 and ARGV[8] ~= 'force' then return -1 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'onHand', ARGV[2], 'reserved', ARGV[3], 'committed', ARGV[4],
  'inTransit', ARGV[5], 'quarantined', ARGV[6], 'asOf', ARGV[7])
return 1
`;
