// Bearer tokens for the specs: an admin of the tenant unless the claims say otherwise, signed with
// the development secret every test process runs with.
import { signToken } from '../../platform/auth/tokens.js';
import { DEVELOPMENT_JWT_SECRET } from '../../platform/config.js';
import type { Claims } from '../../platform/auth/tokens.js';

export const tokenFor = (
  tenant: string,
  claims: Partial<Omit<Claims, 'tenant'>> = {},
  o: { ttlSeconds?: number; secret?: string } = {},
): Promise<string> =>
  signToken(
    o.secret ?? DEVELOPMENT_JWT_SECRET,
    {
      tenant,
      sub: claims.sub ?? 'spec',
      roles: claims.roles ?? ['admin'],
      locations: claims.locations ?? [],
      channels: claims.channels ?? [],
    },
    o.ttlSeconds ?? 600,
  );
