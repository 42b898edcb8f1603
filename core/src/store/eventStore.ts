// The event store: streams with an inline snapshot, versioned appends, and row locks taken in one
// sorted statement. This file is its face; the parts live beside it.
export { reservationStreamKey, stockItemStreamKey, streamKeyId } from './streamKeys.js';
export type { StreamKey } from './streamKeys.js';
export { lockStreams, readStockItems, readStreams } from './streams.js';
export type { StockItemRow, StoredStream } from './streams.js';
export { ConcurrencyError, appendToStreams } from './append.js';
export type { AppendOptions, EventMetadata, NewEvent, StreamAppend } from './append.js';
