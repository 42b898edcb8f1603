// `stockmind token`: a bearer token on stdout (its last line).
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config.js';
import { MAX_TOKEN_LIFETIME_SECONDS, ROLES, TENANT_ID, signToken } from '../platform/auth/tokens.js';
import { CHANNELS } from '../contracts/channels.js';
import { UsageError, list } from './usage.js';
import type { Channel } from '../contracts/channels.js';
import type { Role } from '../platform/auth/tokens.js';

export const tokenCommand = async (args: string[]): Promise<void> => {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string' },
      roles: { type: 'string' },
      sub: { type: 'string', default: 'cli' },
      channels: { type: 'string' },
      locations: { type: 'string' },
      ttl: { type: 'string', default: '43200' },
    },
  });
  const tenant = values.tenant ?? '';
  if (!TENANT_ID.test(tenant)) throw new UsageError('--tenant is required and must match ^[a-z0-9][a-z0-9-]{0,62}$');
  const roles = list(values.roles);
  const badRole = roles.find((r) => !(ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || badRole !== undefined)
    throw new UsageError(`--roles must list one or more of ${ROLES.join(', ')}`);
  const channels = list(values.channels).map((c) => c.replace(/^CHANNEL_/, ''));
  const badChannel = channels.find((c) => !(CHANNELS as readonly string[]).includes(c));
  if (badChannel !== undefined)
    throw new UsageError(`unknown channel "${badChannel}"; use ${CHANNELS.map((c) => `CHANNEL_${c}`).join(', ')}`);
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TOKEN_LIFETIME_SECONDS)
    throw new UsageError(`--ttl must be 1 to ${MAX_TOKEN_LIFETIME_SECONDS} seconds (a token lives at most a day)`);
  const config = loadConfig();
  const token = await signToken(
    config.jwtSecret,
    {
      tenant,
      sub: values.sub,
      roles: roles as Role[],
      locations: list(values.locations),
      channels: channels as Channel[],
    },
    ttl,
  );
  if (config.jwtSecretIsDevelopmentDefault)
    process.stderr.write('note: signed with the development secret (set STOCKMIND_JWT_SECRET outside development)\n');
  process.stdout.write(`${token}\n`);
};
