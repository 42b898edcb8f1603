// The REST edge process: `stockmind edge`, or the edge inside `stockmind start`. It reaches the core
// only through its RPCs, and mounts partner-webhook subscriptions (webhooks-out's routes).
import { webhookSubscriptions } from '../../projectors/webhooks-out/http.js';
import { loadEdgeSettings } from './config.js';
import { startEdge } from './server.js';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Component } from '../../platform/process.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export type EdgeProcess = Component & { url: string; port: number };

/** `coreUrl` defaults to CORE_URL; `stockmind start` passes the core it just started. */
export const run = async (
  config: Config,
  log: Logger,
  o: { coreUrl?: string; telemetry?: Telemetry } = {},
): Promise<EdgeProcess> => {
  const subscriptions = await webhookSubscriptions(config, log);
  try {
    const edge = await startEdge(config, loadEdgeSettings(), {
      coreUrl: o.coreUrl ?? config.coreUrl,
      port: config.edgePort,
      log,
      now: Date.now,
      plugins: [subscriptions.plugin],
      ...(o.telemetry === undefined ? {} : { telemetry: o.telemetry }),
    });
    return {
      name: 'edge',
      url: edge.url,
      port: edge.port,
      ready: edge.ready,
      servesReads: true,
      async close() {
        await edge.close();
        await subscriptions.close();
      },
    };
  } catch (err) {
    await subscriptions.close();
    throw err;
  }
};
