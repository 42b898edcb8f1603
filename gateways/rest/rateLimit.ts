// Token buckets per tenant and per client address, in process memory: each edge
// replica limits on its own, so N replicas allow N times the rate.
import { problem } from '../../platform/http/problems.js';
import type { HttpProblem } from '../../platform/http/problems.js';

type Bucket = { tokens: number; at: number };

export type RateLimiter = {
  /** Takes one token for `key`, or returns the 429 problem to answer with. */
  take(key: string): HttpProblem | null;
};

export const createRateLimiter = (perSecond: number, what: string, now: () => number = Date.now): RateLimiter => {
  const burst = perSecond * 2;
  const buckets = new Map<string, Bucket>();
  let lastSweep = now();
  // A full bucket holds no information: dropping idle ones keeps memory bounded by active callers.
  const sweep = (t: number) => {
    if (t - lastSweep < 10_000) return;
    lastSweep = t;
    for (const [k, b] of buckets) if (b.tokens + ((t - b.at) / 1000) * perSecond >= burst) buckets.delete(k);
  };
  return {
    take(key) {
      const t = now();
      sweep(t);
      const b = buckets.get(key) ?? { tokens: burst, at: t };
      b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond);
      b.at = t;
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return null;
      }
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
      return problem({
        slug: 'rate-limited',
        title: 'Too many requests',
        status: 429,
        detail: `more than ${perSecond} requests per second ${what}; retry after ${retryAfter} s`,
        headers: { 'retry-after': String(retryAfter) },
      });
    },
  };
};
