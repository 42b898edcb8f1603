import { describe, expect, it } from 'vitest';
import { singleFlight } from './singleFlight.js';

describe('singleFlight', () => {
  it('gives callers of the same key the call already in flight, and starts a new one once it settled', async () => {
    const shared = singleFlight<number>();
    let calls = 0;
    let release: (v: number) => void = () => undefined;
    const slow = () => {
      calls++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const a = shared('k', slow);
    const b = shared('k', slow);
    const other = shared('other', async () => 7);
    release(1);
    expect(await Promise.all([a, b, other])).toEqual([1, 1, 7]);
    expect(calls).toBe(1);
    const c = shared('k', slow);
    release(2);
    expect(await c).toBe(2);
    expect(calls).toBe(2);
  });

  it('shares a failure with the callers who joined, and does not keep it', async () => {
    const shared = singleFlight<number>();
    const failing = shared('k', async () => {
      throw new Error('core down');
    });
    const joined = shared('k', async () => 1);
    await expect(failing).rejects.toThrow('core down');
    await expect(joined).rejects.toThrow('core down');
    expect(await shared('k', async () => 3)).toBe(3);
  });
});
