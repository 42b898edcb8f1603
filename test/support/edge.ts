// Helpers for the e2e specs: a whole `stockmind start` stack (loadtest/bench/stack.ts) on the
// specs' server, stock to start from, and an SSE reader.
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { startStack as launch } from '../../loadtest/bench/stack.js';
import { SERVER_URL } from './db.js';
import type { Client } from '@connectrpc/connect';
import type { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import type { Stack } from '../../loadtest/bench/stack.js';

export type { Stack };

/** `stockmind start` (core, relay, projectors, REST edge) in a child process, on free ports, on the specs' server. */
export const startStack = (label: string, env: Record<string, string> = {}): Promise<Stack> =>
  launch({ label, serverUrl: SERVER_URL, env });

/** Registers the product and location (the catalog) and receives `quantity` units there. */
export const stockUp = async (
  grpc: Client<typeof InventoryService>,
  token: string,
  sku: string,
  locationId: string,
  quantity: number,
  movementId: string,
) => {
  const headers = { authorization: `Bearer ${token}` };
  await grpc.upsertProduct({ sku, name: sku, baseUnit: 'unit' }, { headers });
  await grpc.upsertLocation({ locationId, name: locationId, kind: LocationKind.WAREHOUSE }, { headers });
  await grpc.receiveStock({ movementId, sku, locationId, quantity: BigInt(quantity) }, { headers });
};

export type SseEvent = { id: string | undefined; event: string; data: unknown };

export type SseStream = {
  status: number;
  headers: Headers;
  next(timeoutMs?: number): Promise<SseEvent>;
  comments: string[];
  close(): void;
};

/** Opens an event stream with fetch and parses it frame by frame. */
export const openSse = async (url: string, headers: Record<string, string>): Promise<SseStream> => {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const comments: string[] = [];
  const frames: SseEvent[] = [];
  const parse = () => {
    for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) {
          event = line.slice(7);
          any = true;
        } else if (line.startsWith('data: ')) {
          data.push(line.slice(6));
          any = true;
        }
      }
      if (any) frames.push({ id, event, data: data.length === 0 ? null : JSON.parse(data.join('\n')) });
    }
  };
  return {
    status: res.status,
    headers: res.headers,
    comments,
    async next(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (frames.length === 0) {
        if (reader === undefined) throw new Error('no body');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>(
            (_, reject) => (timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), left)),
          ),
        ]).finally(() => clearTimeout(timer));
        if (chunk.done) throw new Error('the stream ended');
        buffer += decoder.decode(chunk.value, { stream: true });
        parse();
      }
      return frames.shift() as SseEvent;
    },
    close: () => abort.abort(),
  };
};
