import { describe, expect, it } from 'vitest';
import { authorize } from './permissions.js';
import type { Claims } from './tokens.js';

const token = (over: Partial<Claims>): Claims => ({
  tenant: 'acme',
  sub: 'x',
  roles: [],
  locations: [],
  channels: [],
  ...over,
});
const allowed = (c: Claims, ...args: Parameters<typeof authorize> extends [unknown, ...infer R] ? R : never) => {
  try {
    authorize(c, ...args);
    return true;
  } catch {
    return false;
  }
};

describe('permission table', () => {
  it('admin may do everything, for every channel and location', () => {
    const admin = token({ roles: ['admin'] });
    for (const a of ['reserve', 'transition', 'receive', 'read'] as const)
      expect(allowed(admin, a, { channel: 'B2B', locations: ['W9'] })).toBe(true);
  });

  it('a channel service acts only for the channels in its token', () => {
    const web = token({ roles: ['channel_service'], channels: ['ECOMMERCE'] });
    expect(allowed(web, 'reserve', { channel: 'ECOMMERCE' })).toBe(true);
    expect(allowed(web, 'reserve', { channel: 'B2B' })).toBe(false);
    expect(allowed(web, 'transition', { channel: 'B2B' })).toBe(false);
    expect(allowed(web, 'receive')).toBe(false);
  });

  it('store staff act only at the locations in their token', () => {
    const staff = token({ roles: ['store_staff'], locations: ['S1'] });
    expect(allowed(staff, 'receive', { locations: ['S1'] })).toBe(true);
    expect(allowed(staff, 'receive', { locations: ['W3'] })).toBe(false);
    expect(allowed(staff, 'read', { locations: ['S1', 'W3'] })).toBe(false);
    expect(allowed(staff, 'reserve', { channel: 'POS', locations: ['S1'] })).toBe(true);
  });

  it('an auditor only reads', () => {
    const auditor = token({ roles: ['auditor'] });
    expect(allowed(auditor, 'read', { locations: ['W3'] })).toBe(true);
    for (const a of ['reserve', 'transition', 'receive'] as const) expect(allowed(auditor, a)).toBe(false);
  });

  it('a token with several roles may act when any role allows it in scope', () => {
    const both = token({ roles: ['auditor', 'channel_service'], channels: ['B2B'] });
    expect(allowed(both, 'reserve', { channel: 'B2B' })).toBe(true);
    expect(allowed(both, 'reserve', { channel: 'POS' })).toBe(false);
  });
});
