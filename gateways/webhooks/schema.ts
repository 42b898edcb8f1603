// The marketplace gateway's tables: signing secrets per tenant and marketplace, and the dedupe record.
import type { Schema } from '../../platform/postgres/migrate.js';

export const MARKETPLACE_SCHEMA: Schema = {
  part: 'marketplace',
  legacy: { 20: 1 },
  migrations: [
    {
      version: 1,
      name: 'marketplace secrets and event dedupe',
      sql: `
      -- HMAC secrets per tenant and marketplace (kept readable: HMAC needs the secret itself).
      create table marketplace_secrets (
        tenant_id text not null,
        marketplace text not null,
        secret text not null,
        created_at timestamptz not null default now(),
        primary key (tenant_id, marketplace)
      );
      -- One row per marketplace event id: a redelivery answers the recorded outcome.
      -- 'processing' rows are claims; they are deleted when the core could not answer.
      create table marketplace_events (
        tenant_id text not null,
        marketplace text not null,
        event_id text not null,
        body_hash text not null,
        status text not null check (status in ('processing', 'done')),
        http_status integer,
        response jsonb,
        claimed_at timestamptz not null default now(),
        completed_at timestamptz,
        primary key (tenant_id, marketplace, event_id)
      );
`,
    },
  ],
};
