// The sales channels, as every process names them (tokens, events, Redis, the REST edge).

export const CHANNELS = ['ECOMMERCE', 'POS', 'B2B', 'MARKETPLACE'] as const;
export type Channel = (typeof CHANNELS)[number];
