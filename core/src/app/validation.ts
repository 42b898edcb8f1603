// Input rules shared by every edge: each violation names the field and says what to send.
import { invalidArgument } from '../../../platform/errors.js';
import { keyDefect, textDefect } from '../../../platform/text.js';
import type { FieldViolation } from '../../../platform/errors.js';
import type { Channel } from '../domain/shared.js';

export const LIMITS = {
  maxLines: 100,
  maxQueryKeys: 1000,
  maxQuantity: 1_000_000_000,
  maxIdLength: 128,
  maxTextLength: 256,
  maxTtlMs: 30 * 24 * 3600 * 1000,
  /** Stock items one read may cover once regions are expanded. */
  maxExpandedKeys: 20_000,
} as const;

const ID = /^[\x21-\x7e]+$/; // visible ASCII: safe in URLs, headers and logs

export class Checker {
  readonly violations: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.violations.push({ field, description });
  }

  id(field: string, value: string): void {
    if (value === '') this.add(field, 'required');
    else if (value.length > LIMITS.maxIdLength) this.add(field, `at most ${LIMITS.maxIdLength} characters`);
    else if (!ID.test(value)) this.add(field, 'visible ASCII characters only (no spaces)');
  }

  /** SKUs and location ids: the key rule (platform/text.ts), trimmed. */
  key(field: string, value: string): void {
    const problem = keyDefect(value);
    if (value.trim() === '') this.add(field, 'required');
    else if (value.length > LIMITS.maxIdLength) this.add(field, `at most ${LIMITS.maxIdLength} characters`);
    else if (problem !== null) this.add(field, problem);
    else if (value !== value.trim()) this.add(field, 'must not start or end with whitespace');
  }

  /** Free text (references, reasons, names): the text rule (platform/text.ts) and a length. */
  text(field: string, value: string): void {
    const problem = textDefect(value);
    if (value.length > LIMITS.maxTextLength) this.add(field, `at most ${LIMITS.maxTextLength} characters`);
    else if (problem !== null) this.add(field, problem);
  }

  quantity(field: string, value: number): void {
    if (!Number.isSafeInteger(value) || value <= 0) this.add(field, 'must be a positive whole number');
    else if (value > LIMITS.maxQuantity) this.add(field, `at most ${LIMITS.maxQuantity}`);
  }

  channel(field: string, value: Channel | null): void {
    if (value === null) this.add(field, 'required: CHANNEL_ECOMMERCE, CHANNEL_POS, CHANNEL_B2B or CHANNEL_MARKETPLACE');
  }

  done(): void {
    if (this.violations.length > 0) throw invalidArgument(this.violations);
  }
}

export type LineInput = { sku: string; locationId: string; quantity: number; unit: string };

export type ReserveInput = {
  reservationId: string;
  channel: Channel | null;
  lines: LineInput[];
  /** null = the tenant's policy for the channel */
  ttlMs: number | null;
  orderRef: string;
};

export const checkReserve = (input: ReserveInput): void => {
  const c = new Checker();
  c.id('reservation_id', input.reservationId);
  c.channel('channel', input.channel);
  c.text('order_ref', input.orderRef);
  if (input.ttlMs !== null && !(input.ttlMs > 0 && input.ttlMs <= LIMITS.maxTtlMs)) {
    c.add('ttl', 'must be positive and at most 30 days');
  }
  if (input.lines.length === 0) c.add('lines', 'at least one line is required');
  if (input.lines.length > LIMITS.maxLines) c.add('lines', `at most ${LIMITS.maxLines} lines`);
  const seen = new Set<string>();
  input.lines.forEach((line, i) => {
    c.key(`lines[${i}].sku`, line.sku);
    c.key(`lines[${i}].location_id`, line.locationId);
    c.quantity(`lines[${i}].quantity`, line.quantity);
    const key = JSON.stringify([line.sku, line.locationId]);
    if (seen.has(key)) c.add(`lines[${i}]`, 'repeats an earlier line for the same sku and location_id; merge them');
    seen.add(key);
  });
  c.done();
};

export const checkReservationId = (reservationId: string, extra: Record<string, string> = {}): void => {
  const c = new Checker();
  c.id('reservation_id', reservationId);
  for (const [field, value] of Object.entries(extra)) c.text(field, value);
  c.done();
};

export type StockKeyInput = { sku: string; locationId: string };

export const checkQuery = (keys: StockKeyInput[]): void => {
  const c = new Checker();
  if (keys.length === 0) c.add('keys', 'at least one key is required');
  if (keys.length > LIMITS.maxQueryKeys) c.add('keys', `at most ${LIMITS.maxQueryKeys} keys`);
  keys.forEach((k, i) => {
    c.key(`keys[${i}].sku`, k.sku);
    c.key(`keys[${i}].location_id`, k.locationId);
  });
  c.done();
};
