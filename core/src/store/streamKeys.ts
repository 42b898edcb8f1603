// A stream is identified by columns (tenant, kind, location, SKU, reservation), never by a
// concatenated string two different keys could produce.
export type StreamKey =
  { kind: 'stock_item'; locationId: string; sku: string } | { kind: 'reservation'; reservationId: string };

export const stockItemStreamKey = (locationId: string, sku: string): StreamKey => ({
  kind: 'stock_item',
  locationId,
  sku,
});
export const reservationStreamKey = (reservationId: string): StreamKey => ({ kind: 'reservation', reservationId });

/** The stream's identity columns: (kind, location_id, sku, reservation_id). */
const columnsOf = (key: StreamKey): [string, string, string, string] =>
  key.kind === 'stock_item' ? [key.kind, key.locationId, key.sku, ''] : [key.kind, '', '', key.reservationId];

/** An in-process map key for a stream; never stored or sent anywhere. */
export const streamKeyId = (key: StreamKey): string => JSON.stringify(columnsOf(key));

/** The keys as four column arrays, for `unnest` in one statement. */
export const keyArrays = (keys: StreamKey[]): string[][] => {
  const cols: string[][] = [[], [], [], []];
  for (const key of keys) columnsOf(key).forEach((v, i) => cols[i]?.push(v));
  return cols;
};
