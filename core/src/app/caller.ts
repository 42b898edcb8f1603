// Who acts. Built by the API from the verified token, never from the request, and handed to every use case.
import type { Channel } from '../domain/shared.js';

export type Caller = {
  tenantId: string;
  operator: string;
  correlationId: string;
  traceId: string | null;
  /** W3C traceparent of the call that acts: the command's spans are its children, its events carry it on. */
  traceparent?: string | null | undefined;
  signal?: AbortSignal | undefined;
  /** Checks the caller may act on what a command turned out to touch; throws PERMISSION_DENIED. */
  authorize?: ((scope: { channel?: Channel | null; locations?: string[] }) => void) | undefined;
};
