// Every part's tables, for `stockmind migrate` (and the specs' databases): each part also applies
// its own when it starts.
import { CORE_SCHEMA } from '../core/src/store/migrations.js';
import { RELAY_SCHEMA } from '../projectors/relay/schema.js';
import { CONSUMERS_SCHEMA } from '../projectors/shared/schema.js';
import { WEBHOOKS_OUT_SCHEMA } from '../projectors/webhooks-out/schema.js';
import { MARKETPLACE_SCHEMA } from '../gateways/webhooks/schema.js';
import type { Schema } from '../platform/postgres/migrate.js';

export const ALL_SCHEMAS: readonly Schema[] = [
  CORE_SCHEMA,
  RELAY_SCHEMA,
  CONSUMERS_SCHEMA,
  WEBHOOKS_OUT_SCHEMA,
  MARKETPLACE_SCHEMA,
];
