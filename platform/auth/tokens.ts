// Bearer tokens (JWT, HS256). The tenant, operator and roles come only from here.
import { SignJWT, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { CHANNELS } from '../../contracts/channels.js';
import type { Channel } from '../../contracts/channels.js';

export const ROLES = ['admin', 'store_staff', 'channel_service', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

const channelClaim = z.enum(CHANNELS.map((c) => `CHANNEL_${c}`) as [`CHANNEL_${Channel}`, ...`CHANNEL_${Channel}`[]]);

const claimsSchema = z.object({
  tenant: z.string().regex(TENANT_ID, 'tenant must match ^[a-z0-9][a-z0-9-]{0,62}$'),
  sub: z.string().min(1).max(128),
  roles: z.array(z.enum(ROLES)).min(1),
  locations: z.array(z.string().min(1).max(128)).default([]),
  channels: z.array(channelClaim).default([]),
});

export type Claims = {
  tenant: string;
  sub: string;
  roles: Role[];
  locations: string[];
  channels: Channel[];
};

const ISSUER = 'stockmind';

/**
 * The longest a token may live, from issue (`iat`) to expiry (`exp`): a day. A token without `exp`
 * would be valid for ever, and one that leaks is only as bad as its lifetime; services sign 5 min
 * tokens, people a working day (the CLI's default 12 h).
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);

export const signToken = async (
  secret: string,
  claims: Omit<Claims, 'channels'> & { channels: Channel[] },
  ttlSeconds: number,
): Promise<string> => {
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds > 0 && ttlSeconds <= MAX_TOKEN_LIFETIME_SECONDS))
    throw new RangeError(`a token lives 1 to ${MAX_TOKEN_LIFETIME_SECONDS} seconds, not ${ttlSeconds}`);
  return new SignJWT({
    tenant: claims.tenant,
    roles: claims.roles,
    locations: claims.locations,
    channels: claims.channels.map((c) => `CHANNEL_${c}`),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key(secret));
};

const unauthenticated = (message: string) => new AppError('UNAUTHENTICATED', message, { reason: 'UNAUTHENTICATED' });

/**
 * Verifies signature, algorithm, issuer and expiry (at `now`), that the token carries `exp` and
 * lives at most MAX_TOKEN_LIFETIME_SECONDS (from `iat`, or from now without one), then the claims.
 */
export const verifyToken = async (secret: string, token: string, now: () => number = Date.now): Promise<Claims> => {
  let payload: { exp?: number; iat?: number };
  try {
    ({ payload } = await jwtVerify(token, keyFor(secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      currentDate: new Date(now()),
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw unauthenticated('the bearer token has expired; request a new one');
    if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'exp')
      throw unauthenticated(
        `the bearer token has no expiry (exp); tokens must expire within ${MAX_TOKEN_LIFETIME_SECONDS} s of issue`,
      );
    throw unauthenticated('the bearer token is not valid (bad signature, algorithm, issuer or format)');
  }
  const lifetime = (payload.exp ?? 0) - (payload.iat ?? Math.floor(now() / 1000));
  if (lifetime > MAX_TOKEN_LIFETIME_SECONDS)
    throw unauthenticated(
      `the bearer token lives ${lifetime} s from issue to expiry, more than the ${MAX_TOKEN_LIFETIME_SECONDS} s allowed; request a shorter one`,
    );
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'claims'}: ${i.message}`).join('; ');
    throw unauthenticated(`the bearer token's claims are invalid: ${problems}`);
  }
  const c = parsed.data;
  return { ...c, channels: c.channels.map((ch) => ch.replace(/^CHANNEL_/, '') as Channel) };
};

const keys = new Map<string, Uint8Array>();
const keyFor = (secret: string): Uint8Array => {
  let k = keys.get(secret);
  if (k === undefined) {
    k = key(secret);
    keys.set(secret, k);
  }
  return k;
};

export type TokenVerifier = (token: string) => Promise<Claims>;

/**
 * A verifier that remembers tokens it already verified until they expire
 * (at most `maxEntries`, oldest evicted first): channels send the same token
 * on every call, and HMAC verification is the largest CPU cost of a read.
 */
export const cachingVerifier = (secret: string, maxEntries = 10_000, now: () => number = Date.now): TokenVerifier => {
  const cache = new Map<string, { claims: Claims; expiresAt: number }>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit !== undefined && hit.expiresAt > now()) return hit.claims;
    if (hit !== undefined) cache.delete(token);
    const claims = await verifyToken(secret, token, now);
    const exp = (decodeJwt(token).exp ?? 0) * 1000;
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    cache.set(token, { claims, expiresAt: exp });
    return claims;
  };
};
