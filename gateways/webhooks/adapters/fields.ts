// Field rules shared by the adapters; the core re-checks everything.
import { z } from 'zod';
import { safeKey, safeText } from '../../../platform/text.js';

/** Ids that end up in reservation ids, headers and logs: visible ASCII. */
export const externalId = z.string().regex(/^[\x21-\x7e]{1,64}$/, 'visible ASCII, 1 to 64 characters');
export const stockKey = safeKey(z.string().min(1).max(128));
/** Free text passed on to the core (a cancellation reason): the text rule. */
export const freeText = safeText(z.string().max(200));
export const quantity = z.number().int().positive().max(1_000_000_000);
