// The marketplace webhook gateway as a process component (`stockmind webhooks`,
// or inside `stockmind start`), and the secret command.
import { createPool, measurePoolWaits } from '../../platform/postgres/pool.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { MARKETPLACE_SCHEMA } from './schema.js';
import { TENANT_ID } from '../../platform/auth/tokens.js';
import { buildWebhookGateway } from './gateway.js';
import { createInventoryClient, marketplaceTokens } from './core.js';
import { ensureMarketplaceSecret } from './secrets.js';
import { MARKETPLACES } from './adapters/index.js';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export type WebhookGateway = { name: string; port: number; close(): Promise<void> };

/** `coreUrl` defaults to CORE_URL; `stockmind start` passes the core it just started. */
export const run = async (
  config: Config,
  log: Logger,
  o: { coreUrl?: string; host?: string; telemetry?: Telemetry } = {},
): Promise<WebhookGateway> => {
  const telemetry = o.telemetry ?? privateTelemetry();
  await prepareDatabase(config.databaseUrl, [MARKETPLACE_SCHEMA], log);
  const pool = measurePoolWaits(
    createPool({ databaseUrl: config.databaseUrl, max: 4, applicationName: 'stockmind-webhooks' }),
    telemetry.metrics,
    'webhooks',
  );
  let closing = false;
  const coreUrl = o.coreUrl ?? config.coreUrl;
  const app = buildWebhookGateway({
    pool,
    inventory: createInventoryClient(coreUrl),
    tokenFor: marketplaceTokens(config.jwtSecret),
    log,
    telemetry,
    accepting: () => !closing,
  });
  try {
    await app.listen({ port: config.webhookPort, host: o.host ?? config.coreHost });
  } catch (err) {
    await pool.end();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.webhookPort;
  log.info({ port, coreUrl, marketplaces: MARKETPLACES }, 'marketplace webhook gateway listening');
  return {
    name: 'webhooks',
    port,
    async close() {
      closing = true;
      await app.close();
      await pool.end();
    },
  };
};

export class SecretUsageError extends Error {
  override name = 'SecretUsageError';
}

/** `stockmind webhooks secret --tenant T --marketplace M [--rotate]`: prints the secret as the last line. */
export const marketplaceSecretCommand = async (
  config: Config,
  log: Logger,
  o: { tenant: string; marketplace: string; rotate: boolean },
): Promise<string> => {
  if (!TENANT_ID.test(o.tenant))
    throw new SecretUsageError('--tenant is required and must match ^[a-z0-9][a-z0-9-]{0,62}$');
  if (!MARKETPLACES.includes(o.marketplace))
    throw new SecretUsageError(`--marketplace must be one of ${MARKETPLACES.join(', ')}`);
  await prepareDatabase(config.databaseUrl, [MARKETPLACE_SCHEMA], log);
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 1, applicationName: 'stockmind-webhooks-secret' });
  try {
    const { secret, created } = await ensureMarketplaceSecret(pool, o.tenant, o.marketplace, o.rotate);
    log.info(
      { tenant: o.tenant, marketplace: o.marketplace, created },
      created ? 'new marketplace secret stored' : 'existing marketplace secret (use --rotate for a new one)',
    );
    return secret;
  } finally {
    await pool.end();
  }
};
