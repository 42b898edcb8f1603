import { describe, expect, it } from 'vitest';
import { createRecorder, formatSummary, missedBudgets, statusName } from './report.js';

const ms = (n: number) => n * 1e6;

describe('ghz-compatible results', () => {
  const recorder = () => {
    const r = createRecorder({ name: 'test', options: { concurrency: 2 }, date: new Date('2026-11-22T00:00:00Z') });
    for (let i = 1; i <= 100; i++) r.ok(ms(i));
    r.failed(9, 'not enough stock');
    r.failed(9, 'not enough stock');
    r.failed(14, 'down');
    return r;
  };

  it('reports durations as integer nanoseconds and counts every call', () => {
    const out = recorder().snapshot(2e9);
    expect(out.count).toBe(103);
    expect(out.total).toBe(2_000_000_000);
    expect(out.fastest).toBe(ms(1));
    expect(out.slowest).toBe(ms(100));
    expect(out.average).toBe(ms(50.5));
    expect(out.rps).toBeCloseTo(51.5, 5);
    for (const v of [out.total, out.average, out.fastest, out.slowest]) expect(Number.isInteger(v)).toBe(true);
  });

  it('takes percentiles p10..p99 from the successful calls only', () => {
    const out = recorder().snapshot(1e9);
    expect(out.latencyDistribution?.map((d) => d.percentage)).toEqual([10, 25, 50, 75, 90, 95, 99]);
    const p = (q: number) => out.latencyDistribution?.find((d) => d.percentage === q)?.latency ?? 0;
    // HDR keeps 3 significant digits.
    expect(p(50) / ms(50)).toBeCloseTo(1, 2);
    expect(p(99) / ms(99)).toBeCloseTo(1, 2);
    for (const d of out.latencyDistribution ?? []) expect(Number.isInteger(d.latency)).toBe(true);
  });

  it('names status codes and errors the way ghz does', () => {
    const out = recorder().snapshot(1e9);
    expect(out.statusCodeDistribution).toEqual({ OK: 100, FailedPrecondition: 2, Unavailable: 1 });
    expect(out.errorDistribution).toEqual({
      'rpc error: code = FailedPrecondition desc = not enough stock': 2,
      'rpc error: code = Unavailable desc = down': 1,
    });
    expect(statusName(16)).toBe('Unauthenticated');
    expect(statusName(undefined)).toBe('Unknown');
  });

  it('has no latency distribution when nothing succeeded', () => {
    const r = createRecorder({ name: 'x', options: {} });
    r.failed(14, 'down');
    expect(r.snapshot(1e9)).toMatchObject({ count: 1, latencyDistribution: null, fastest: 0, average: 0 });
  });

  it('prints a ghz-style summary', () => {
    const text = formatSummary(recorder().snapshot(2e9));
    expect(text).toContain('Count:\t103');
    expect(text).toContain('Requests/sec:\t51.50');
    expect(text).toContain('[FailedPrecondition]\t2 responses');
    expect(text).toMatch(/99 % in 99\.\d\d ms/);
  });
});

describe('budgets', () => {
  const out = (() => {
    const r = createRecorder({ name: 'x', options: {} });
    for (let i = 1; i <= 100; i++) r.ok(ms(i));
    r.failed(14, 'down');
    return r.snapshot(1e9);
  })();

  it('holds when p95, p99 and the error rate are within their budgets', () => {
    expect(missedBudgets(out, { p95Ns: ms(200), p99Ns: ms(120), maxErrorRate: 0.02 })).toEqual([]);
  });

  it('names each budget the run missed', () => {
    const missed = missedBudgets(out, { p95Ns: ms(10), p99Ns: ms(10), maxErrorRate: 0.001 });
    expect(missed).toHaveLength(3);
    expect(missed[0]).toMatch(/^p95 9\d\.\d\d ms is over the budget of 10\.00 ms$/);
    expect(missed[2]).toMatch(/error rate 0\.99 % \(1\/101\)/);
  });
});
