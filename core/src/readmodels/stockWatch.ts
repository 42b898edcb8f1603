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
  /** True while the subscription is registered on the broker: a watcher added now gets every later change. */
  ready(): boolean;
  /**
   * Resolves true once the subscription is registered on the broker (its flush answered), at once
   * when it is; false at once while the broker is unreachable or the hub closed.
   */
  subscribed(): Promise<boolean>;
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
  // starting: the first connect, or a flush after (re)connecting, is under way; down: the broker is
  // unreachable (retrying); ready: the server has the subscription.
  let state: 'starting' | 'down' | 'ready' = 'starting';
  const waiting = new Set<(ok: boolean) => void>();
  let generation = 0; // a flush answers for the connection state it was sent in, not a later one
  const settle = (next: 'down' | 'ready') => {
    generation++;
    state = next;
    for (const w of waiting) w(next === 'ready' && !closed);
    waiting.clear();
  };
  const endAll = () => {
    for (const set of watchers.values()) for (const w of set) w.end();
    watchers.clear();
  };
  /** A subscription (first or resent on reconnect) is registered on the server once a flush answers. */
  const flushed = (conn: NatsConnection) => {
    const sent = ++generation;
    state = 'starting';
    conn.flush().then(
      () => sent === generation && settle(conn.isClosed() ? 'down' : 'ready'),
      () => sent === generation && settle('down'),
    );
  };

  // The core must start (and take writes) while NATS is down, so connect in the background.
  const connecting = (async () => {
    while (!closed) {
      try {
        nc = await connectNats();
        break;
      } catch (err) {
        settle('down');
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
          settle('down');
          endAll();
        } else if (status.type === 'reconnect') {
          flushed(conn);
        }
      }
    })();
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
    flushed(conn);
  })();

  return {
    ready: () => state === 'ready' && sub !== null && nc !== null && !nc.isClosed(),
    subscribed: () =>
      closed || state === 'down'
        ? Promise.resolve(false)
        : state === 'ready'
          ? Promise.resolve(true)
          : new Promise((resolve) => waiting.add(resolve)),
    watch(tenantId, filter, push, end) {
      const w: Watcher = { tenantId, matches: matcher(filter), push, end };
      const set = watchers.get(tenantId) ?? new Set<Watcher>();
      set.add(w);
      watchers.set(tenantId, set);
      // The one signal a watcher without current levels has that it is registered (specs wait for it).
      log.debug({ tenant: tenantId, watchers: set.size }, 'watcher registered');
      return () => {
        set.delete(w);
        if (set.size === 0) watchers.delete(tenantId);
      };
    },
    async close() {
      closed = true;
      settle('down');
      // End every open stream first: an open stream would hold the server's shutdown.
      endAll();
      await connecting;
      sub?.unsubscribe();
      if (nc !== null) await nc.drain().catch(() => undefined);
    },
  };
};
