// Redis clients that fail fast: no offline queue, few retries, short timeouts.
import { Redis } from 'ioredis';

export const createRedis = (url: string, o: { commandTimeoutMs: number; name: string }): Redis => {
  const redis = new Redis(url, {
    connectionName: o.name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: 2_000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  // Callers see failures per command; the client reconnects by itself.
  redis.on('error', () => undefined);
  return redis;
};

/** Resolves once the client is connected, or rejects after `timeoutMs` with a clear message. */
export const redisReady = async (redis: Redis, timeoutMs: number): Promise<void> => {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis did not answer within ${timeoutMs} ms (REDIS_URL)`));
    }, timeoutMs);
    function onReady() {
      clearTimeout(timer);
      resolve();
    }
    redis.once('ready', onReady);
  });
};
