// Concurrent identical reads share one core call: on a hot product page during
// a sale, N shoppers asking at once cost one read, not N. Only calls already in
// flight are joined, so an answer is never older than one core round trip;
// nothing is kept once the call settles.
export const singleFlight = <T>() => {
  const inFlight = new Map<string, Promise<T>>();
  return (key: string, call: () => Promise<T>): Promise<T> => {
    const running = inFlight.get(key);
    if (running !== undefined) return running;
    const p = call().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  };
};
