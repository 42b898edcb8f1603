import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { MAX_TOKEN_LIFETIME_SECONDS, cachingVerifier, signToken, verifyToken } from './tokens.js';
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

  const signed = (times: { iat?: number; exp?: number }) => {
    let jwt = new SignJWT({ tenant: 'acme', roles: ['admin'], locations: [], channels: [] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('forever')
      .setIssuer('stockmind');
    if (times.iat !== undefined) jwt = jwt.setIssuedAt(times.iat);
    if (times.exp !== undefined) jwt = jwt.setExpirationTime(times.exp);
    return jwt.sign(new TextEncoder().encode(SECRET));
  };
  const nowS = () => Math.floor(Date.now() / 1000);

  it('refuses a token without exp, which would be valid for ever', async () => {
    await expect(verifyToken(SECRET, await signed({ iat: nowS() }))).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining('no expiry (exp)'),
    });
  });

  it('refuses a token that lives longer than a day from issue to expiry, with or without iat', async () => {
    const long = await signed({ iat: nowS(), exp: nowS() + MAX_TOKEN_LIFETIME_SECONDS + 1 });
    await expect(verifyToken(SECRET, long)).rejects.toMatchObject({
      message: expect.stringContaining(`more than the ${MAX_TOKEN_LIFETIME_SECONDS} s allowed`),
    });
    const noIat = await signed({ exp: nowS() + 30 * 24 * 3600 });
    await expect(verifyToken(SECRET, noIat)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const day = await signed({ iat: nowS(), exp: nowS() + MAX_TOKEN_LIFETIME_SECONDS });
    expect((await verifyToken(SECRET, day)).tenant).toBe('acme');
  });

  it('signs only tokens of a bounded lifetime', async () => {
    await expect(signToken(SECRET, claims, MAX_TOKEN_LIFETIME_SECONDS + 1)).rejects.toBeInstanceOf(RangeError);
    await expect(signToken(SECRET, claims, 0)).rejects.toBeInstanceOf(RangeError);
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
