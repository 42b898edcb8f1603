import { describe, expect, it } from 'vitest';
import { cachingVerifier, signToken, verifyToken } from './tokens.js';
import { AppError } from '../errors.js';

const SECRET = 'unit-test-secret-unit-test-secret-0123';
const claims = { tenant: 'acme', sub: 'alice', roles: ['admin' as const], locations: [], channels: ['B2B' as const] };

describe('bearer tokens', () => {
  it('round-trips the claims, with channels as domain names', async () => {
    const token = await signToken(SECRET, claims, 60);
    expect(await verifyToken(SECRET, token)).toEqual({ ...claims, channels: ['B2B'] });
  });

  it('refuses a token signed with another secret', async () => {
    const token = await signToken('another-secret-another-secret-0123456', claims, 60);
    await expect(verifyToken(SECRET, token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses claims of the wrong shape (tenant id)', async () => {
    const token = await signToken(SECRET, { ...claims, tenant: 'Not A Tenant' }, 60);
    await expect(verifyToken(SECRET, token)).rejects.toBeInstanceOf(AppError);
  });

  it('the caching verifier stops accepting a cached token once it expires', async () => {
    let now = Date.now();
    const verify = cachingVerifier(SECRET, 10, () => now);
    const token = await signToken(SECRET, claims, 2);
    expect((await verify(token)).tenant).toBe('acme');
    now += 3_000;
    // past exp on the verifier's clock: the cache entry is dropped and jose rejects the expiry
    await expect(verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('the caching verifier never accepts a token it did not verify', async () => {
    const verify = cachingVerifier(SECRET, 10);
    const token = await signToken(SECRET, claims, 60);
    await verify(token);
    const [h, p] = token.split('.');
    await expect(verify(`${h}.${p}.AAAA`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
