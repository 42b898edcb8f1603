// Per-tenant, per-marketplace signing secrets.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';

export const newSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

export const marketplaceSecret = async (db: pg.Pool, tenantId: string, marketplace: string): Promise<string | null> => {
  const { rows } = await db.query<{ secret: string }>({
    name: 'wh_secret_get',
    text: 'select secret from marketplace_secrets where tenant_id = $1 and marketplace = $2',
    values: [tenantId, marketplace],
  });
  return rows[0]?.secret ?? null;
};

/** The existing secret, or a new one when there is none (or `rotate`). */
export const ensureMarketplaceSecret = async (
  db: pg.Pool,
  tenantId: string,
  marketplace: string,
  rotate: boolean,
): Promise<{ secret: string; created: boolean }> => {
  const candidate = newSecret();
  const { rows } = await db.query<{ secret: string; created: boolean }>(
    rotate
      ? `insert into marketplace_secrets (tenant_id, marketplace, secret) values ($1, $2, $3)
         on conflict (tenant_id, marketplace) do update set secret = excluded.secret, created_at = now()
         returning secret, true as created`
      : `with ins as (
           insert into marketplace_secrets (tenant_id, marketplace, secret) values ($1, $2, $3)
           on conflict (tenant_id, marketplace) do nothing returning secret
         )
         select secret, true as created from ins
         union all
         select secret, false from marketplace_secrets where tenant_id = $1 and marketplace = $2 and not exists (select 1 from ins)`,
    [tenantId, marketplace, candidate],
  );
  const row = rows[0];
  if (row === undefined) throw new Error('could not store the marketplace secret');
  return row;
};
