// Marketplace → StockMind signatures: HMAC-SHA256 over "<timestamp>.<raw body>"
// with the tenant's secret for that marketplace. The timestamp is signed too, so
// a captured request cannot be replayed later with a fresh timestamp header.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-stockmind-timestamp';
export const SIGNATURE_HEADER = 'x-stockmind-signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export const signatureHex = (secret: string, timestamp: string, body: Buffer | string): string =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');

export type SignatureProblem =
  'SIGNATURE_MISSING' | 'TIMESTAMP_INVALID' | 'TIMESTAMP_OUT_OF_TOLERANCE' | 'SIGNATURE_INVALID';

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureProblem; message: string };

const HEX64 = /^[0-9a-f]{64}$/;
// Compared against when the tenant has no secret, so an unknown tenant costs the same time as a wrong signature.
const NO_SECRET = 'stockmind-no-secret-configured';

/** Every `v1=<hex>` in the header (a sender rotating its secret may send two). */
const candidates = (header: string): Buffer[] =>
  header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3).toLowerCase())
    .filter((hex) => HEX64.test(hex))
    .map((hex) => Buffer.from(hex, 'hex'));

export const verifySignature = (o: {
  secret: string | null;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  nowSeconds: number;
  toleranceSeconds: number;
}): SignatureCheck => {
  if (o.timestamp === undefined || o.signature === undefined) {
    return {
      ok: false,
      reason: 'SIGNATURE_MISSING',
      message: `send ${TIMESTAMP_HEADER} (unix seconds) and ${SIGNATURE_HEADER}: v1=<hex hmac-sha256 of "<timestamp>.<body>">`,
    };
  }
  if (!/^\d{1,12}$/.test(o.timestamp)) {
    return { ok: false, reason: 'TIMESTAMP_INVALID', message: `${TIMESTAMP_HEADER} must be unix seconds` };
  }
  if (Math.abs(o.nowSeconds - Number(o.timestamp)) > o.toleranceSeconds) {
    return {
      ok: false,
      reason: 'TIMESTAMP_OUT_OF_TOLERANCE',
      message: `${TIMESTAMP_HEADER} is more than ${o.toleranceSeconds} s away from the server's clock; sign with the current time`,
    };
  }
  const expected = Buffer.from(signatureHex(o.secret ?? NO_SECRET, o.timestamp, o.body), 'hex');
  const matches = candidates(o.signature).some((c) => timingSafeEqual(c, expected));
  if (!matches || o.secret === null) {
    return {
      ok: false,
      reason: 'SIGNATURE_INVALID',
      message: "the signature does not match this tenant's secret for this marketplace and the raw body",
    };
  }
  return { ok: true };
};
