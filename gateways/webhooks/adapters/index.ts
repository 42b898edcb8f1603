// The marketplaces the gateway understands: one adapter each, chosen by the URL path.
import { amazonAdapter } from './amazon.js';
import { jumiaAdapter } from './jumia.js';
import { isTextIssue } from '../../../platform/text.js';
import type { MarketplaceAdapter, MarketplaceNotification } from './types.js';

export const ADAPTERS: ReadonlyMap<string, MarketplaceAdapter> = new Map<string, MarketplaceAdapter>([
  [amazonAdapter.name, amazonAdapter as unknown as MarketplaceAdapter],
  [jumiaAdapter.name, jumiaAdapter as unknown as MarketplaceAdapter],
]);

export const MARKETPLACES = [...ADAPTERS.keys()];

export type Issue = { path: string; message: string };

export type Parsed =
  | { ok: true; notification: MarketplaceNotification }
  | { ok: false; issues: Issue[] }
  /**
   * Valid but for text the rule refuses (platform/text.ts), with a readable event id: the same
   * bytes will never pass, so the event is refused for good rather than retried.
   */
  | { ok: false; issues: Issue[]; badTextEventId: string };

export const parseNotification = (adapter: MarketplaceAdapter, body: unknown): Parsed => {
  const parsed = adapter.schema.safeParse(body);
  if (parsed.success) return { ok: true, notification: adapter.toNotification(parsed.data) };
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  const eventId = parsed.error.issues.every(isTextIssue) ? adapter.eventIdOf(body) : null;
  return eventId === null ? { ok: false, issues } : { ok: false, issues, badTextEventId: eventId };
};

/** Deterministic: every notification about one order acts on the same reservation, so retries are idempotent at the core. */
export const reservationIdFor = (marketplace: string, orderId: string): string => `${marketplace}:${orderId}`;
