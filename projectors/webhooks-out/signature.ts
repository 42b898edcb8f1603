// StockMind → partner signatures: X-StockMind-Signature: t=<unix>,v1=<hex
// hmac-sha256 of "<t>.<body>"> with the subscription's secret. Signed at every
// attempt with the current time, so partners can apply a timestamp tolerance.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const OUT_SIGNATURE_HEADER = 'x-stockmind-signature';

export const signatureHeaderValue = (secret: string, body: string, unixSeconds: number): string =>
  `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;

/** What a partner does on receipt (also used by the tests): check the HMAC and the timestamp. */
export const verifyPartnerSignature = (
  secret: string,
  body: string,
  header: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean => {
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = parts.get('t') ?? '';
  const v1 = parts.get('v1') ?? '';
  if (!/^\d+$/.test(t) || !/^[0-9a-f]{64}$/.test(v1) || Math.abs(nowSeconds - Number(t)) > toleranceSeconds)
    return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(Buffer.from(v1, 'hex'), expected);
};
