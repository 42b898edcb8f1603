// A whole `stockmind start` (core, relay, projectors, REST edge, webhook gateway) on free ports,
// with a database and a namespace of its own, removed again by stop(): for the edge benchmark and
// the e2e specs.
import { randomBytes } from 'node:crypto';
import { createClient } from '@connectrpc/connect';
import { Http2SessionManager, createGrpcTransport } from '@connectrpc/connect-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { loadConfig } from '../../platform/config.js';
import { connectNats } from '../../platform/nats.js';
import { createPool, dropDatabase, ensureDatabase } from '../../platform/postgres/pool.js';
import { createRedis, redisReady } from '../../platform/redis.js';
import { eventStreamName } from '../../contracts/names.js';
import { freePort, startCoreProcess } from './processes.js';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import type { Client } from '@connectrpc/connect';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CoreHandle } from './processes.js';

export type Stack = {
  /** Created empty: each part applies its own migrations as `start` brings it up. */
  db: { url: string; name: string; pool: pg.Pool };
  namespace: string;
  core: CoreHandle;
  edgeUrl: string;
  /** The marketplace webhook gateway. */
  webhooksUrl: string;
  grpc: Client<typeof InventoryService>;
  /** Stops the processes, removes the databases and the namespace; resolves with the exit code. */
  stop(): Promise<number | null>;
};

/** A fresh namespace (matches ^[a-z][a-z0-9_-]{0,31}$). */
export const testNamespace = (label: string): string => `t-${label.slice(0, 14)}-${randomBytes(4).toString('hex')}`;

/** Deletes the namespace's JetStream stream (with its consumers) and its Redis keys. */
export const cleanupNamespace = async (
  namespace: string,
  o: { nc?: NatsConnection | undefined; redis?: Redis | undefined },
): Promise<void> => {
  if (o.nc !== undefined && !o.nc.isClosed()) {
    const jsm = await jetstreamManager(o.nc);
    await jsm.streams.delete(eventStreamName(namespace)).catch(() => undefined);
  }
  if (o.redis !== undefined && o.redis.status === 'ready') {
    let cursor = '0';
    do {
      const [next, keys] = await o.redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await o.redis.del(...keys);
    } while (cursor !== '0');
  }
};

/**
 * Starts the stack on the Postgres server of `serverUrl`; `env` adds to (or overrides) what the
 * process gets, e.g. a private NATS_URL, which the clean-up then uses too.
 */
export const startStack = async (o: {
  label: string;
  serverUrl: string;
  env?: Record<string, string>;
}): Promise<Stack> => {
  const suffix = `${o.label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(3).toString('hex')}`;
  const name = `sm_stack_${suffix}`;
  const url = Object.assign(new URL(o.serverUrl), { pathname: `/${name}` }).toString();
  const namespace = testNamespace(o.label);
  const env = {
    DATABASE_URL: url,
    STOCKMIND_NAMESPACE: namespace,
    STOCKMIND_PG_POOL_MAX: '4',
    EDGE_PORT: String(await freePort()),
    WEBHOOK_PORT: String(await freePort()),
    ...o.env,
  };
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', ...env });
  await ensureDatabase(url);
  const pool = createPool({ databaseUrl: url, max: 2, applicationName: `stack-${o.label}` });
  const removeDatabases = async () => {
    await pool.end();
    await dropDatabase(config.analyticsDatabaseUrl);
    await dropDatabase(url);
  };
  let core: CoreHandle;
  try {
    core = await startCoreProcess(env, 60_000, 'start');
  } catch (err) {
    await removeDatabases();
    throw err;
  }
  const session = new Http2SessionManager(core.url);
  const grpc = createClient(InventoryService, createGrpcTransport({ baseUrl: core.url, sessionManager: session }));
  return {
    db: { url, name, pool },
    namespace,
    core,
    edgeUrl: `http://127.0.0.1:${config.edgePort}`,
    webhooksUrl: `http://127.0.0.1:${config.webhookPort}`,
    grpc,
    async stop() {
      session.abort();
      const code = await core.stop();
      // Best effort: a broker a fault spec left down must not keep the databases behind.
      const nc = await connectNats(config.natsUrl, `${o.label}-cleanup`).catch(() => undefined);
      const redis = createRedis(config.redisUrl, { commandTimeoutMs: 2_000, name: `${o.label}-cleanup` });
      try {
        // cleanupNamespace skips a client that is still connecting.
        await redisReady(redis, 5_000).catch(() => undefined);
        await cleanupNamespace(namespace, { nc, redis });
      } finally {
        await nc?.close();
        redis.disconnect();
      }
      await removeDatabases();
      return code;
    },
  };
};
