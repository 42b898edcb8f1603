// `bench lag`: from an acknowledged commit until Redis shows it.
import { Channel } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { loadConfig } from '../../platform/config.js';
import { availabilityKey } from '../../contracts/names.js';
import { createRedis, redisReady } from '../../platform/redis.js';
import { log, m, seed } from './environment.js';
import { ms, summarize } from './stats.js';
import type { GrpcClient } from '../runner/grpcClient.js';
import type { Env, Options, Row } from './environment.js';

/**
 * Commit -> visible in Redis: a steady stream of reservations at `--rate`
 * per second; for each, the time from the acknowledged commit until Redis
 * holds that stream version (polled every millisecond or so).
 */
export const benchLag = async (env: Env, opts: Options): Promise<Row[]> => {
  await seed(env, opts.skus);
  const config = loadConfig();
  const redis = createRedis(config.redisUrl, { commandTimeoutMs: 1_000, name: 'bench-lag' });
  await redisReady(redis, 5_000);
  log('waiting for the read model to catch up with the seed…');
  const lastSeeded = availabilityKey(env.namespace, 'bench', 'W1', `SKU-${opts.skus - 1}`);
  const catchUp = performance.now();
  while ((await redis.hget(lastSeeded, 'version')) === null) {
    if (performance.now() - catchUp > 120_000) throw new Error('the read model did not catch up within 120 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const pending = new Map<string, { version: number; at: bigint }>();
  const lags: number[] = [];
  const errors: Record<string, number> = {};
  let stop = false;
  const poller = (async () => {
    while (!stop || pending.size > 0) {
      const entries = [...pending.entries()];
      if (entries.length > 0) {
        const pipeline = redis.pipeline();
        for (const [key] of entries) pipeline.hget(key, 'version');
        const results = (await pipeline.exec()) ?? [];
        const now = process.hrtime.bigint();
        entries.forEach(([key, want], i) => {
          if (Number(results[i]?.[1] ?? 0) >= want.version) {
            lags.push(Number(now - want.at));
            pending.delete(key);
          }
        });
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  const interval = 1000 / opts.rate;
  const started = performance.now();
  let n = 0;
  const inflight: Promise<void>[] = [];
  log(`lag: ${opts.rate} reservations/s for ${opts.seconds} s…`);
  while (performance.now() - started < opts.seconds * 1000) {
    const i = n++;
    const sku = `SKU-${i % opts.skus}`;
    const client = env.clients[i % env.clients.length] as GrpcClient;
    inflight.push(
      client
        .unary(m.reserveStock, {
          reservationId: `lag-${env.runId}-${i}`,
          channel: Channel.ECOMMERCE,
          lines: [{ sku, locationId: 'W1', quantity: 1n }],
        })
        .then(
          () => {
            // Seeding wrote version 1 of each SKU; its k-th reservation (k from 0) writes version k + 2.
            pending.set(availabilityKey(env.namespace, 'bench', 'W1', sku), {
              version: 2 + Math.floor(i / opts.skus),
              at: process.hrtime.bigint(),
            });
          },
          (err: unknown) => {
            const code = String((err as { code?: unknown }).code ?? 'unknown');
            errors[code] = (errors[code] ?? 0) + 1;
          },
        ),
    );
    const due = started + n * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inflight);
  const drainStart = performance.now();
  while (pending.size > 0 && performance.now() - drainStart < 30_000) await new Promise((r) => setTimeout(r, 10));
  stop = true;
  pending.clear();
  await poller;
  redis.disconnect();
  const s = summarize(lags, errors, opts.seconds);
  const row: Row = {
    scenario: `commit -> Redis at ${opts.rate}/s`,
    concurrency: opts.rate,
    ...s,
    baseline: 0,
    ratio: 0,
  };
  process.stdout.write(
    `\nCommit -> visible in Redis (availability projector), ${opts.rate} reservations/s for ${opts.seconds} s\n| writes measured | lag p50 ms | lag p95 ms | lag p99 ms | lag max ms | errors |\n|---|---|---|---|---|---|\n| ${s.ok} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${
      Object.entries(errors)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ') || '0'
    } |\n`,
  );
  return [row];
};
