import { describe, expect, it } from 'vitest';
import { applyDelta, availabilityStatus, available, isNonNegative, physical, zeroLevels } from './levels.js';
import type { Levels } from './levels.js';

const levels = (partial: Partial<Levels>): Levels => ({ ...zeroLevels(), ...partial });

describe('available = max(0, on_hand − reserved − committed − safety_stock)', () => {
  it('is on hand when nothing is held and there is no safety stock', () => {
    expect(available(levels({ onHand: 10 }), 0)).toBe(10);
  });

  it('subtracts reserved units', () => {
    expect(available(levels({ onHand: 10, reserved: 3 }), 0)).toBe(7);
  });

  it('subtracts committed units', () => {
    expect(available(levels({ onHand: 10, committed: 4 }), 0)).toBe(6);
  });

  it('subtracts safety stock', () => {
    expect(available(levels({ onHand: 10 }), 2)).toBe(8);
  });

  it('subtracts reserved, committed and safety stock together', () => {
    expect(available(levels({ onHand: 20, reserved: 3, committed: 4 }), 5)).toBe(8);
  });

  it('ignores in-transit units: they are not present yet', () => {
    expect(available(levels({ onHand: 5, inTransit: 100 }), 0)).toBe(5);
  });

  it('ignores quarantined units: they await a quality check', () => {
    expect(available(levels({ onHand: 5, quarantined: 100 }), 0)).toBe(5);
  });

  it('is exactly zero when holds use up all stock', () => {
    expect(available(levels({ onHand: 7, reserved: 3, committed: 4 }), 0)).toBe(0);
  });

  it('never goes below zero when safety stock exceeds what is left', () => {
    expect(available(levels({ onHand: 3, reserved: 1 }), 5)).toBe(0);
  });

  it('never goes below zero when holds exceed on hand', () => {
    expect(available(levels({ onHand: 2, reserved: 3, committed: 4 }), 0)).toBe(0);
  });

  it('is zero for an untouched item', () => {
    expect(available(zeroLevels(), 0)).toBe(0);
  });
});

describe('availabilityStatus', () => {
  it.each([
    [0, 5, 'OUT_OF_STOCK'],
    [1, 5, 'LOW_STOCK'],
    [3, 5, 'LOW_STOCK'],
    [5, 5, 'LOW_STOCK'],
    [6, 5, 'IN_STOCK'],
    [1000, 5, 'IN_STOCK'],
    [1, 0, 'IN_STOCK'],
    [0, 0, 'OUT_OF_STOCK'],
    [-1, 5, 'OUT_OF_STOCK'],
  ] as const)('%i available with threshold %i is %s', (units, threshold, status) => {
    expect(availabilityStatus(units, threshold)).toBe(status);
  });

  it('shows "Only N left" (LOW_STOCK) from 1 up to the threshold and IN_STOCK just above it', () => {
    const threshold = 5;
    const statuses = [0, 1, 2, 3, 4, 5, 6].map((n) => availabilityStatus(n, threshold));
    expect(statuses).toEqual([
      'OUT_OF_STOCK',
      'LOW_STOCK',
      'LOW_STOCK',
      'LOW_STOCK',
      'LOW_STOCK',
      'LOW_STOCK',
      'IN_STOCK',
    ]);
  });
});

describe('level helpers', () => {
  it('physical stock is on hand plus quarantined, not reserved or in transit', () => {
    expect(physical(levels({ onHand: 10, quarantined: 2, reserved: 4, committed: 1, inTransit: 7 }))).toBe(12);
  });

  it('applyDelta adds only the given fields and leaves the input untouched', () => {
    const before = levels({ onHand: 10, reserved: 2 });
    expect(applyDelta(before, { reserved: 3, committed: -1 })).toEqual(
      levels({ onHand: 10, reserved: 5, committed: -1 }),
    );
    expect(before).toEqual(levels({ onHand: 10, reserved: 2 }));
  });

  it.each(['onHand', 'reserved', 'committed', 'inTransit', 'quarantined'] as const)(
    'isNonNegative rejects a negative %s',
    (field) => {
      expect(isNonNegative(levels({ [field]: -1 }))).toBe(false);
    },
  );

  it('isNonNegative accepts zeros and positives', () => {
    expect(isNonNegative(zeroLevels())).toBe(true);
    expect(isNonNegative(levels({ onHand: 1, reserved: 1, committed: 1, inTransit: 1, quarantined: 1 }))).toBe(true);
  });

  it('zeroLevels returns a fresh object each time', () => {
    const a = zeroLevels();
    a.onHand = 5;
    expect(zeroLevels().onHand).toBe(0);
  });
});
