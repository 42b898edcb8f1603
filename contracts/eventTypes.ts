// Wire names of events: stockmind.<context>.<event>.v<N>, e.g. stockmind.stock.stock_reserved.v1
export type EventContext = 'stock' | 'reservations';

const snake = (pascal: string): string => pascal.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const pascal = (snakeName: string): string =>
  snakeName
    .split('_')
    .map((w) => (w[0] ?? '').toUpperCase() + w.slice(1))
    .join('');

export const wireEventType = (context: EventContext, domainType: string, version = 1): string =>
  `stockmind.${context}.${snake(domainType)}.v${version}`;

export const parseWireEventType = (
  wire: string,
): { context: string; domainType: string; version: number } | undefined => {
  const m = /^stockmind\.([a-z_]+)\.([a-z0-9_]+)\.v(\d+)$/.exec(wire);
  if (m === null) return undefined;
  return { context: m[1] ?? '', domainType: pascal(m[2] ?? ''), version: Number(m[3]) };
};
