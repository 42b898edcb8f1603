// Waiting in specs: poll for a state with eventually(); sleep only where a real time must pass (a TTL,
// a lag measured in seconds), never to wait for something that can be observed.

/** Thrown by a check that can never pass any more (the process it waits for exited): eventually() gives up at once. */
export class NeverPasses extends Error {}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` passes (resolving with what it returned) or the deadline passes (then rethrows its last failure). */
export const eventually = async <T>(check: () => Promise<T>, timeoutMs = 3_000, everyMs = 50): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (err instanceof NeverPasses || Date.now() > deadline) throw err;
      await sleep(everyMs);
    }
  }
};

/** The value, or a failure saying what is still missing: for eventually(() => defined(find(), 'the delivery')). */
export const defined = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`still waiting for ${what}`);
  return value;
};
