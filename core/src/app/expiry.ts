// The core releases due reservations itself (not a projector), so expiry keeps
// working while NATS is down and with any number of core processes.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Inventory } from './inventory.js';

export type ExpiryLoop = { stop(): Promise<void> };

export const startExpiryLoop = (
  inventory: Inventory,
  intervalMs: number,
  log: Logger,
  maxPerPass = 500,
): ExpiryLoop => {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const pass = async () => {
    let expired = 0;
    try {
      while (!stopped && expired < maxPerPass && (await inventory.expireNextDue('system:expiry', randomUUID())))
        expired++;
      if (expired > 0) log.info({ expired }, 'reservations expired');
    } catch (err) {
      log.warn({ err }, 'expiry pass failed; retrying on the next tick');
    }
    // A full pass means more are due: go again at once.
    if (!stopped) timer = setTimeout(run, expired >= maxPerPass ? 0 : intervalMs);
  };
  const run = () => {
    current = pass();
  };
  timer = setTimeout(run, intervalMs);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
};
