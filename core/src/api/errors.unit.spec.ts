import { describe, expect, it } from 'vitest';
import { AppError } from '../../../platform/errors.js';
import { PoolBusy } from '../../../platform/postgres/tx.js';
import { errorReason } from './errors.js';

describe('errorReason (the reason label of a failed call)', () => {
  it('is the ErrorInfo reason the caller gets, for application and infrastructure errors alike', () => {
    expect(errorReason(new AppError('NOT_FOUND', 'no such product', { reason: 'PRODUCT_NOT_FOUND' }))).toBe(
      'PRODUCT_NOT_FOUND',
    );
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(errorReason(refused)).toBe('LEDGER_UNAVAILABLE');
    expect(errorReason(new PoolBusy('busy'))).toBe('LEDGER_BUSY');
  });

  it("is the code's name when there is no reason, and never the message", () => {
    expect(errorReason(new AppError('INTERNAL', 'select * from events failed'))).toBe('INTERNAL');
    expect(errorReason(new Error('select * from events failed'))).toBe('INTERNAL');
  });
});
