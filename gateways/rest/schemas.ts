// The REST contract: these zod schemas validate requests and generate the OpenAPI document.
import { z } from 'zod';
import { safeKey, safeText } from '../../platform/text.js';

/** Response and shared schemas, published under #/components/schemas. */
export const components = z.registry<{ id: string; description?: string }>();

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** Free text the core stores (references, reasons): the text rule, at most 256 characters. */
const text = () => safeText(z.string().max(256));

export const sku = safeKey(z.string().min(1).max(128)).describe('Stock keeping unit');
export const locationId = safeKey(z.string().min(1).max(128));
export const reservationId = z
  .string()
  .min(1)
  .max(128)
  .regex(VISIBLE_ASCII, 'visible ASCII characters only')
  .describe('The reservation id the create call answered');

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const CHANNELS = ['ECOMMERCE', 'B2B', 'MARKETPLACE', 'POS'] as const;
export const channel = z
  .enum(CHANNELS)
  .describe(
    'The sales channel the reservation is for; it sets the default hold time (e-commerce 15 min, B2B 48 h, marketplace 30 min, POS 5 min)',
  );

export const STATUSES = ['IN_STOCK', 'LOW_STOCK', 'OUT_OF_STOCK'] as const;

// --- availability --------------------------------------------------------------------------

export const availabilityTarget = z
  .object({
    location: locationId.optional().describe('A warehouse or store id'),
    region: locationId.optional().describe('A region id: the answer sums every location below it'),
  })
  .superRefine((v, ctx) => {
    if ((v.location === undefined) === (v.region === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['location'], message: 'give exactly one of location or region' });
    }
  });

export const availabilityParams = z.object({ sku });

export const MAX_BATCH_ITEMS = 200;

export const availabilityBatchBody = z.object({
  items: z
    .array(z.object({ sku, location: locationId.optional(), region: locationId.optional() }))
    .min(1)
    .max(MAX_BATCH_ITEMS)
    .describe(`1 to ${MAX_BATCH_ITEMS} items, each with a sku and exactly one of location or region`),
});

export const availability = z.object({
  sku: z.string(),
  location: z.string().optional().describe('Present when asked by location'),
  region: z.string().optional().describe('Present when asked by region'),
  locationCount: z.number().int().optional().describe('Asked by region: how many locations the sum covers'),
  available: z.number().int().min(0).describe('Units a customer can buy now'),
  status: z.enum(STATUSES),
  label: z
    .string()
    .describe('"In Stock", "Only 3 left" (at or under the tenant\'s low-stock threshold) or "Out of Stock"'),
  asOf: z.iso.datetime().describe('The instant this answer reflects'),
  stale: z.boolean().describe('True when a fallback answered and the figure may be older than the ledger'),
});
components.add(availability, { id: 'Availability', description: 'What a shop shows next to a product' });

export const availabilityBatch = z.object({
  items: z.array(availability).describe('One answer per requested item, in request order'),
});
components.add(availabilityBatch, { id: 'AvailabilityBatch' });

// --- stock (back office) -------------------------------------------------------------------

export const stockQuery = z.object({
  sku,
  location: locationId.describe('A warehouse or store id'),
  consistency: z
    .enum(['strong', 'eventual'])
    .default('strong')
    .describe('strong: from the ledger (default); eventual: from the availability view'),
});

export const stockLevel = z.object({
  sku: z.string(),
  location: z.string(),
  onHand: z.number().int().describe('Sellable units physically present, reserved and committed ones included'),
  reserved: z.number().int().describe('Held by pending reservations'),
  committed: z.number().int().describe('Held by confirmed (paid) reservations, awaiting shipment'),
  available: z.number().int().describe('max(0, onHand - reserved - committed - safety stock)'),
  inTransit: z.number().int().describe('Inbound, not yet present'),
  quarantined: z.number().int().describe('Returned, awaiting a quality check; not on hand'),
  physical: z.number().int().describe('onHand + quarantined'),
  status: z.enum(STATUSES),
  label: z.string(),
  version: z.number().int().describe('Version of the stock item stream (0 = never moved)'),
  asOf: z.iso.datetime(),
  stale: z.boolean(),
});
components.add(stockLevel, { id: 'StockLevel', description: 'Every level of one item at one location' });

// --- reservations --------------------------------------------------------------------------

export const reservationLineInput = z.object({
  sku,
  location: locationId.describe('Where the units are held'),
  quantity: z.number().int().positive().max(1_000_000_000),
  unit: safeText(z.string().max(32))
    .optional()
    .describe('Empty or absent: base units (the only unit until the product catalog lands)'),
});

export const createReservationBody = z.object({
  channel,
  lines: z
    .array(reservationLineInput)
    .min(1)
    .max(100)
    .describe('1 to 100 lines, each (sku, location) at most once; all are held or none'),
  ttlSeconds: z
    .number()
    .int()
    .positive()
    .max(30 * 24 * 3600)
    .optional()
    .describe("How long the hold lasts; default: the tenant's policy for the channel"),
  orderRef: text().optional(),
});

export const reservationParams = z.object({ id: reservationId });

export const confirmBody = z.object({ orderRef: text().optional() }).optional();
export const fulfilBody = z.object({ shipmentRef: text().optional() }).optional();
export const releaseBody = z.object({ reason: text().optional() }).optional();

export const RESERVATION_STATUSES = ['PENDING', 'CONFIRMED', 'FULFILLED', 'RELEASED', 'EXPIRED'] as const;

export const reservation = z.object({
  id: z.string().describe('uuidv5 of (tenant, Idempotency-Key) for reservations made here'),
  status: z.enum(RESERVATION_STATUSES),
  channel: z.enum(CHANNELS),
  lines: z.array(
    z.object({
      sku: z.string(),
      location: z.string(),
      quantity: z.number().int(),
      unit: z.string(),
      baseQuantity: z.number().int(),
    }),
  ),
  expiresAt: z.iso.datetime().describe('A pending reservation not confirmed by then is released'),
  orderRef: z.string(),
  shipmentRef: z.string(),
  releaseReason: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  version: z.number().int(),
});
components.add(reservation, { id: 'Reservation' });

// --- errors --------------------------------------------------------------------------------

export const problemSchema = z
  .object({
    type: z.string().describe('https://stockmind.io/problems/<slug>'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What was wrong and what to do'),
    instance: z.string().describe('The request path'),
    correlationId: z.string(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('invalid-request and unprocessable: one entry per field'),
    sku: z.string().optional().describe('insufficient-stock'),
    location: z.string().optional().describe('insufficient-stock'),
    requested: z.number().int().optional().describe('insufficient-stock'),
    available: z.number().int().optional().describe('insufficient-stock'),
    reason: z.string().optional().describe("The core's reason code, e.g. RESERVATION_EXPIRED, ROLE_NOT_ALLOWED"),
    reservationStatus: z.string().optional().describe('reservation-state: the status the reservation is in'),
  })
  .loose();
components.add(problemSchema, { id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' });
