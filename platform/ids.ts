// Deterministic ids and request fingerprints.
import { createHash } from 'node:crypto';

/** RFC 4122 name-based (SHA-1) UUID. */
export const uuidv5 = (name: string, namespace: string): string => {
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** Namespace for StockMind event ids (a fixed random UUID). */
const EVENT_NAMESPACE = '6f1c2a7e-3d4b-4c8e-9a51-2b7d0e9f4c13';

/** Event ids derive from the command: a retry that re-runs a command yields the same ids. */
export const eventIdFor = (tenantId: string, command: string, commandId: string, ...ordinal: number[]): string =>
  uuidv5(JSON.stringify([tenantId, command, commandId, ...ordinal]), EVENT_NAMESPACE);

/** JSON with object keys sorted, so equal requests hash equally whatever their key order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );

export const requestHash = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('hex');
