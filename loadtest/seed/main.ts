// `stockmind seed`: a realistic dataset bulk-loaded into the event store, then
// the read models rebuilt through the same replay path `stockmind replay` uses.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ConfigError, loadConfig } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { CORE_SCHEMA } from '../../core/src/store/migrations.js';
import { RELAY_SCHEMA } from '../../projectors/relay/schema.js';
import { runReadModelCommand } from '../../projectors/rebuild/main.js';
import { createRedis, redisReady } from '../../platform/redis.js';
import { DEFAULTS, storeCount, tenantIds, volume } from './layout.js';
import { loadTenant } from './load.js';
import { hasCatalog, loadCatalog } from './catalog.js';
import type { SeedOptions } from './layout.js';

export const SEED_USAGE = `usage: stockmind seed [--tenants N] [--locations N] [--skus N] [--store-skus N] [--hot-stock N]
                      [--history-every N] [--tenant-prefix P] [--publish] [--analytics auto|yes|no]`;

/** Above this many events the analytics replay (one movement at a time) would take longer than the load itself. */
const ANALYTICS_AUTO_LIMIT = 20_000;

export const parseSeedArgs = (args: string[]): SeedOptions & { publish: boolean; analytics: 'auto' | 'yes' | 'no' } => {
  const { values } = parseArgs({
    args,
    options: {
      tenants: { type: 'string' },
      locations: { type: 'string' },
      skus: { type: 'string' },
      'store-skus': { type: 'string' },
      'hot-stock': { type: 'string' },
      'history-every': { type: 'string' },
      'tenant-prefix': { type: 'string' },
      publish: { type: 'boolean', default: false },
      analytics: { type: 'string', default: 'auto' },
    },
  });
  const num = (name: string, v: string | undefined, fallback: number, min: number) => {
    if (v === undefined) return fallback;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name} must be an integer >= ${min}\n${SEED_USAGE}`);
    return n;
  };
  const o = {
    tenants: num('tenants', values.tenants, DEFAULTS.tenants, 1),
    locations: num('locations', values.locations, DEFAULTS.locations, DEFAULTS.warehouses),
    skus: num('skus', values.skus, DEFAULTS.skus, 1),
    storeSkus: num('store-skus', values['store-skus'], DEFAULTS.storeSkus, 0),
    warehouses: DEFAULTS.warehouses,
    hotStock: num('hot-stock', values['hot-stock'], DEFAULTS.hotStock, 1),
    historyEvery: num('history-every', values['history-every'], DEFAULTS.historyEvery, 0),
    tenantPrefix: values['tenant-prefix'] ?? DEFAULTS.tenantPrefix,
    publish: values.publish,
    analytics: values.analytics as 'auto' | 'yes' | 'no',
  };
  if (!/^[a-z0-9][a-z0-9-]{0,50}$/.test(o.tenantPrefix))
    throw new ConfigError('--tenant-prefix must match ^[a-z0-9][a-z0-9-]{0,50}$');
  if (!['auto', 'yes', 'no'].includes(o.analytics)) throw new ConfigError('--analytics is auto, yes or no');
  return o;
};

const seconds = (t0: number) => (performance.now() - t0) / 1000;

export const runSeed = async (
  args: string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<{ streams: number; events: number; loadSeconds: number }> => {
  const o = parseSeedArgs(args);
  const config = loadConfig(process.env, { needsJwtSecret: false });
  const log = createLogger(config.logLevel, 'seed');
  const tenants = tenantIds(o);
  const v = volume(o);
  out(
    `seed: ${tenants.length} tenant(s) (${tenants.join(', ')}), ${o.warehouses} warehouses + ${storeCount(o)} stores, ${o.skus} SKUs; per tenant ${v.stockItems} stock items, ${v.reservations} reservations, ${v.events} events`,
  );
  // The seed moves the relay's checkpoint past what it loads, so it needs the relay's table too.
  await prepareDatabase(config.databaseUrl, [CORE_SCHEMA, RELAY_SCHEMA], log);
  // Two loaders: one builds rows while Postgres indexes the other's COPY.
  const loaders = [0, 1].map(
    () => new pg.Client({ connectionString: config.databaseUrl, application_name: 'stockmind-seed' }),
  );
  await Promise.all(loaders.map((c) => c.connect()));
  const client = loaders[0] as pg.Client;
  let streams = 0;
  let events = 0;
  const t0 = performance.now();
  try {
    const catalog = await hasCatalog(client);
    const { rows: taken } = await client.query<{ tenant_id: string }>(
      `select distinct tenant_id from streams where tenant_id = any($1::text[])${catalog ? ' union select distinct tenant_id from products where tenant_id = any($1::text[])' : ''}`,
      [tenants],
    );
    if (taken.length > 0) {
      throw new ConfigError(
        `tenant(s) ${taken.map((r) => r.tenant_id).join(', ')} already hold data in ${new URL(config.databaseUrl).pathname.slice(1)}; seed a fresh database (DATABASE_URL) or pick another --tenant-prefix`,
      );
    }
    const { rows: before } = await client.query<{ any: boolean }>('select exists (select 1 from events) as any');
    const freshLedger = before[0]?.any === false;
    // History ends a day before the seed, so new commands always come later than any seeded event.
    const base = new Date(Date.now() - 15 * 86_400_000);
    const correlationId = randomUUID();
    if (!catalog) out('catalog: this schema has no products/locations tables; seeding stock only');
    for (const tenantId of tenants) {
      const tt = performance.now();
      if (catalog) {
        const c = await loadCatalog(client, o, tenantId, base);
        out(
          `  ${tenantId}: catalog ${c.products} products (box = 12, pallet = 480), ${c.locations} locations in ${seconds(tt).toFixed(1)} s`,
        );
      }
      let lastReport = tt;
      const r = await loadTenant(loaders, o, tenantId, correlationId, base, (location, done) => {
        if (performance.now() - lastReport > 5_000) {
          lastReport = performance.now();
          process.stderr.write(
            `  ${tenantId}: ${location} done, ${done.streams} streams, ${done.events} events, ${(done.events / seconds(tt)).toFixed(0)} events/s\n`,
          );
        }
      });
      streams += r.streams;
      events += r.events;
      out(`  ${tenantId}: ${r.streams} streams, ${r.events} events in ${seconds(tt).toFixed(1)} s`);
    }
    const loadSeconds = seconds(t0);
    out(
      `event store loaded: ${streams} streams, ${events} events in ${loadSeconds.toFixed(1)} s (${(events / loadSeconds).toFixed(0)} events/s, COPY)`,
    );
    const ta = performance.now();
    await client.query('analyze streams, events');
    out(`analyze: ${seconds(ta).toFixed(1)} s`);
    if (!o.publish && freshLedger) {
      // The read models are rebuilt below from the ledger; publishing millions of seeded events
      // through NATS would only repeat that, slowly. Nothing else was in the ledger to skip.
      await client.query(
        `insert into relay_checkpoints (name, tx_id, position, updated_at)
         select $1, tx_id, global_position, clock_timestamp() from events order by tx_id desc, global_position desc limit 1
         on conflict (name) do update set tx_id = excluded.tx_id, position = excluded.position, updated_at = excluded.updated_at`,
        [config.namespace],
      );
      out(
        `relay "${config.namespace}": checkpoint moved past the seeded events (use --publish to have the relay send them to NATS)`,
      );
    } else if (!o.publish) {
      out('relay: the ledger held events before the seed, so the relay will publish the seeded ones too');
    }
    const redis = createRedis(config.redisUrl, { commandTimeoutMs: 5_000, name: 'stockmind-seed' });
    await redisReady(redis, 5_000);
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    const memoryBefore = await usedMemory();
    const tr = performance.now();
    for (const tenantId of tenants) {
      const code = await runReadModelCommand(config, log, 'replay', 'availability', tenantId, (l) =>
        out(`  ${tenantId}: ${l}`),
      );
      if (code !== 0) throw new Error(`availability replay for ${tenantId} failed`);
    }
    const grown = (await usedMemory()) - memoryBefore;
    redis.disconnect();
    out(
      `availability (Redis, namespace "${config.namespace}") rebuilt in ${seconds(tr).toFixed(1)} s; Redis used_memory grew by ${(grown / 2 ** 20).toFixed(1)} MiB (shared server: approximate)`,
    );
    const analytics = o.analytics === 'yes' || (o.analytics === 'auto' && events <= ANALYTICS_AUTO_LIMIT);
    if (analytics) {
      const tn = performance.now();
      for (const tenantId of tenants)
        await runReadModelCommand(config, log, 'replay', 'analytics', tenantId, (l) => out(`  ${tenantId}: ${l}`));
      out(`analytics rebuilt in ${seconds(tn).toFixed(1)} s`);
    } else {
      const why =
        o.analytics === 'no'
          ? '--analytics no'
          : `${events} events > ${ANALYTICS_AUTO_LIMIT}: its replay records one movement per round trip`;
      out(`analytics: skipped (${why}); run \`stockmind replay analytics\` when needed, or seed with --analytics yes`);
    }
    const { rows: size } = await client.query<{ size: string }>(
      'select pg_size_pretty(pg_database_size(current_database())) as size',
    );
    out(
      `done in ${seconds(t0).toFixed(1)} s; database ${new URL(config.databaseUrl).pathname.slice(1)} is ${size[0]?.size ?? '?'}`,
    );
    return { streams, events, loadSeconds };
  } finally {
    await Promise.all(loaders.map((c) => c.end()));
  }
};
