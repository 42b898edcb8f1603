// The one definition of stock levels and availability, used by the core,
// the projectors and `verify` alike.

export type Levels = {
  /** Sellable units physically present; reserved and committed units stay on hand until shipped. */
  onHand: number;
  reserved: number;
  committed: number;
  /** Inbound, not yet present. */
  inTransit: number;
  /** Returned units awaiting a quality check; not on hand. */
  quarantined: number;
};

export type AvailabilityStatus = 'IN_STOCK' | 'LOW_STOCK' | 'OUT_OF_STOCK';

export const zeroLevels = (): Levels => ({ onHand: 0, reserved: 0, committed: 0, inTransit: 0, quarantined: 0 });

export const available = (levels: Levels, safetyStock: number): number =>
  Math.max(0, levels.onHand - levels.reserved - levels.committed - safetyStock);

export const physical = (levels: Levels): number => levels.onHand + levels.quarantined;

export const availabilityStatus = (availableUnits: number, lowStockThreshold: number): AvailabilityStatus => {
  if (availableUnits <= 0) return 'OUT_OF_STOCK';
  return availableUnits <= lowStockThreshold ? 'LOW_STOCK' : 'IN_STOCK';
};

export type LevelDelta = Partial<Levels>;

export const applyDelta = (levels: Levels, delta: LevelDelta): Levels => ({
  onHand: levels.onHand + (delta.onHand ?? 0),
  reserved: levels.reserved + (delta.reserved ?? 0),
  committed: levels.committed + (delta.committed ?? 0),
  inTransit: levels.inTransit + (delta.inTransit ?? 0),
  quarantined: levels.quarantined + (delta.quarantined ?? 0),
});

export const isNonNegative = (levels: Levels): boolean =>
  levels.onHand >= 0 &&
  levels.reserved >= 0 &&
  levels.committed >= 0 &&
  levels.inTransit >= 0 &&
  levels.quarantined >= 0;
