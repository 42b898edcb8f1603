// Every name StockMind uses in NATS and Redis, derived from the namespace
// (STOCKMIND_NAMESPACE) so tests and tenants sharing one broker never collide.
// Parts that come from users are base64url-encoded: "a:b" + "c" can never
// produce the same key as "a" + "b:c".

export const encodePart = (part: string): string => Buffer.from(part, 'utf8').toString('base64url');
export const decodePart = (encoded: string): string => Buffer.from(encoded, 'base64url').toString('utf8');

export const eventStreamName = (namespace: string): string => `${namespace.toUpperCase().replace(/-/g, '_')}_EVENTS`;

/** stockmind.evt.<tenant>.<context>.<event>; tenant ids are already token-safe (^[a-z0-9][a-z0-9-]*$). */
export const eventSubject = (namespace: string, tenantId: string, eventType: string): string => {
  const m = /^stockmind\.([a-z_]+)\.([a-z0-9_]+)\.v\d+$/.exec(eventType);
  if (m === null) throw new Error(`unexpected event type ${eventType}`);
  return `${namespace}.evt.${tenantId}.${m[1]}.${m[2]}`;
};

export const allEventsSubject = (namespace: string): string => `${namespace}.evt.>`;
export const stockEventsSubject = (namespace: string, tenantId = '*'): string => `${namespace}.evt.${tenantId}.stock.>`;

export const consumerName = (namespace: string, projector: string): string =>
  `${namespace}_${projector}`.replace(/[^A-Za-z0-9_-]/g, '_');

/** The Redis hash of one stock item; the hash tag keeps a tenant's location on one Redis Cluster slot. */
export const availabilityKey = (namespace: string, tenantId: string, locationId: string, sku: string): string =>
  `${namespace}:avail:{${tenantId}:${encodePart(locationId)}}:${encodePart(sku)}`;

export const availabilityPattern = (namespace: string, tenantId?: string): string =>
  tenantId === undefined ? `${namespace}:avail:*` : `${namespace}:avail:{${tenantId}:*`;

export const parseAvailabilityKey = (
  namespace: string,
  key: string,
): { tenantId: string; locationId: string; sku: string } | undefined => {
  const prefix = `${namespace}:avail:{`;
  if (!key.startsWith(prefix)) return undefined;
  const m = /^([a-z0-9-]+):([A-Za-z0-9_-]*)\}:([A-Za-z0-9_-]*)$/.exec(key.slice(prefix.length));
  if (m === null) return undefined;
  return { tenantId: m[1] ?? '', locationId: decodePart(m[2] ?? ''), sku: decodePart(m[3] ?? '') };
};

/** Postgres LISTEN/NOTIFY channel that wakes the relay when events commit. */
export const EVENTS_NOTIFY_CHANNEL = 'stockmind_events';
