// Live stock changes for WatchStock: one NATS subscription per core process to
// every tenant's stock events, fanned out in memory to the watchers of each
// tenant. A watcher that cannot keep up is dropped rather than buffering
// without bound.
import { stockEventsSubject } from '../../../contracts/names.js';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Envelope } from '../../../contracts/envelope.js';
import type { Levels } from '../domain/stock/levels.js';

export type StockChange = {
  eventId: string;
  sku: string;
  locationId: string;
  levels: Levels;
  version: number;
  at: string;
};

export type WatchFilter = { keys: { sku: string; locationId: string }[] } | { locationId: string };

type Watcher = {
  tenantId: string;
  matches: (c: StockChange) => boolean;
  push: (c: StockChange) => void;
  end: () => void;
};

export type StockWatchHub = {
  /** Registers a watcher (`end` is called when the hub closes); returns the function that removes it. */
  watch(tenantId: string, filter: WatchFilter, push: (c: StockChange) => void, end: () => void): () => void;
  ready(): boolean;
  close(): Promise<void>;
};

const matcher = (filter: WatchFilter): ((c: StockChange) => boolean) => {
  if ('locationId' in filter) return (c) => c.locationId === filter.locationId;
  const wanted = new Set(filter.keys.map((k) => JSON.stringify([k.locationId, k.sku])));
  return (c) => wanted.has(JSON.stringify([c.locationId, c.sku]));
};

export const createStockWatchHub = (
  connectNats: () => Promise<NatsConnection>,
  namespace: string,
  log: Logger,
): StockWatchHub => {
  const watchers = new Map<string, Set<Watcher>>();
  let nc: NatsConnection | null = null;
  let sub: Subscription | null = null;
  let closed = false;
  let connected = false;
  const endAll = () => {
    for (const set of watchers.values()) for (const w of set) w.end();
    watchers.clear();
  };

  // The core must start (and take writes) while NATS is down, so connect in the background.
  const connecting = (async () => {
    while (!closed) {
      try {
        nc = await connectNats();
        break;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'NATS unreachable; WatchStock waits for it');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
    if (nc === null || closed) return;
    const conn = nc;
    // Changes published while disconnected never reach this subscription: end the open
    // watches so their clients reconnect with send_current instead of silently missing them.
    void (async () => {
      for await (const status of conn.status()) {
        if (status.type === 'disconnect') {
          connected = false;
          endAll();
        } else if (status.type === 'reconnect') {
          connected = true;
        }
      }
    })();
    connected = true;
    sub = nc.subscribe(stockEventsSubject(namespace), {
      callback: (err, msg) => {
        if (err !== null) return;
        let e: Envelope;
        try {
          e = msg.json<Envelope>();
        } catch {
          return;
        }
        const set = watchers.get(e.tenantId);
        const levels = (e.payload as { levelsAfter?: Levels } | null)?.levelsAfter;
        if (set === undefined || levels === undefined || e.stream?.kind !== 'stock_item') return;
        const change = {
          eventId: e.eventId,
          sku: e.stream.sku,
          locationId: e.stream.locationId,
          levels,
          version: e.streamVersion,
          at: e.recordedAt,
        };
        for (const w of set) if (w.matches(change)) w.push(change);
      },
    });
  })();

  return {
    ready: () => sub !== null && nc !== null && !nc.isClosed() && connected,
    watch(tenantId, filter, push, end) {
      const w: Watcher = { tenantId, matches: matcher(filter), push, end };
      const set = watchers.get(tenantId) ?? new Set<Watcher>();
      set.add(w);
      watchers.set(tenantId, set);
      return () => {
        set.delete(w);
        if (set.size === 0) watchers.delete(tenantId);
      };
    },
    async close() {
      closed = true;
      // End every open stream first: an open stream would hold the server's shutdown.
      endAll();
      await connecting;
      sub?.unsubscribe();
      if (nc !== null) await nc.drain().catch(() => undefined);
    },
  };
};
