import { describe, expect, it } from 'vitest';
import { signatureHex, verifySignature } from './signature.js';

const secret = 'whsec_test';
const body = Buffer.from('{"event":"order.created"}');
const now = 1_764_572_400;
const check = (o: Partial<Parameters<typeof verifySignature>[0]>) =>
  verifySignature({
    secret,
    timestamp: String(now),
    signature: `v1=${signatureHex(secret, String(now), body)}`,
    body,
    nowSeconds: now,
    toleranceSeconds: 300,
    ...o,
  });

describe('marketplace signatures', () => {
  it('accepts the HMAC of "<timestamp>.<raw body>" with the tenant secret', () => {
    expect(check({})).toEqual({ ok: true });
  });

  it('accepts when one of several v1 signatures matches (secret rotation)', () => {
    expect(check({ signature: `v1=${'0'.repeat(64)}, v1=${signatureHex(secret, String(now), body)}` })).toEqual({
      ok: true,
    });
  });

  it('refuses a body changed after signing', () => {
    expect(check({ body: Buffer.from('{"event":"order.cancelled"}') })).toMatchObject({
      ok: false,
      reason: 'SIGNATURE_INVALID',
    });
  });

  it('refuses a signature made with another secret', () => {
    expect(check({ secret: 'whsec_other' })).toMatchObject({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('refuses when the tenant has no secret for the marketplace', () => {
    expect(check({ secret: null })).toMatchObject({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('refuses a timestamp moved after signing (the timestamp is signed)', () => {
    expect(check({ timestamp: String(now + 1) })).toMatchObject({ ok: false, reason: 'SIGNATURE_INVALID' });
  });

  it('refuses a timestamp outside the tolerance, in the past or the future', () => {
    const old = String(now - 301);
    expect(check({ timestamp: old, signature: `v1=${signatureHex(secret, old, body)}` })).toMatchObject({
      ok: false,
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
    });
    const ahead = String(now + 301);
    expect(check({ timestamp: ahead, signature: `v1=${signatureHex(secret, ahead, body)}` })).toMatchObject({
      ok: false,
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
    });
    const edge = String(now - 300);
    expect(check({ timestamp: edge, signature: `v1=${signatureHex(secret, edge, body)}` })).toEqual({ ok: true });
  });

  it('says what is missing or malformed', () => {
    expect(check({ signature: undefined })).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
    expect(check({ timestamp: 'yesterday' })).toMatchObject({ ok: false, reason: 'TIMESTAMP_INVALID' });
    expect(check({ signature: 'sha256=abc' })).toMatchObject({ ok: false, reason: 'SIGNATURE_INVALID' });
  });
});
