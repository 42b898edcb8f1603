// The movement use cases: receipts, sales, adjustments, inbound, transfers, returns and quality
// checks. Each validates, converts units, and hands one MovementSpec to the command handler.
import { movementKit } from './movementKit.js';
import { receipts } from './receipts.js';
import { returns } from './returns.js';
import { sales } from './sales.js';
import { transfers } from './transfers.js';
import type { MovementDeps } from './movementKit.js';

export const createStockMovements = (deps: MovementDeps) => {
  const kit = movementKit(deps);
  return { ...receipts(kit), ...sales(kit), ...transfers(kit), ...returns(kit) };
};

export type StockMovements = ReturnType<typeof createStockMovements>;
