// The gateway's answers. Problems are RFC 9457 problem+json; outcomes of the
// core (accepted, refused, ignored) are 200 so the marketplace stops retrying.
import type { CoreOutcome } from './core.js';
import type { Issue } from './adapters/index.js';
import type { OrderAction } from './adapters/types.js';

export type Problem = {
  status: number;
  reason: string;
  title: string;
  detail: string;
  extra?: Record<string, unknown>;
};

export const problemBody = (p: Problem) => ({
  type: `https://stockmind.io/problems/${p.reason.toLowerCase().replaceAll('_', '-')}`,
  title: p.title,
  status: p.status,
  detail: p.detail,
  reason: p.reason,
  ...(p.extra ?? {}),
});

/** `problem`: nothing recorded, so the marketplace's retry (or a corrected event) runs again. */
export type OutcomeAnswer =
  { kind: 'answer'; httpStatus: number; body: Record<string, unknown> } | { kind: 'problem'; problem: Problem };

/**
 * A notification the text rule refuses (NUL, control characters, lone surrogates): the same bytes
 * can never pass, so it is a refusal like the core's, recorded and replayed, never a retry loop.
 */
export const textRefusal = (o: { marketplace: string; eventId: string }, issues: Issue[]): OutcomeAnswer => ({
  kind: 'answer',
  httpStatus: 200,
  body: {
    marketplace: o.marketplace,
    eventId: o.eventId,
    outcome: 'refused',
    refusal: {
      reason: 'INVALID_TEXT',
      message: `${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}; nothing was applied, send a corrected event`,
      details: Object.fromEntries(issues.map((i) => [i.path, i.message])),
    },
  },
});

export const answerFor = (
  o: { marketplace: string; eventId: string; action: OrderAction; reservationId: string },
  outcome: CoreOutcome,
): OutcomeAnswer => {
  const base = {
    marketplace: o.marketplace,
    eventId: o.eventId,
    orderId: o.action.orderId,
    action: o.action.kind,
    reservationId: o.reservationId,
  };
  switch (outcome.kind) {
    case 'accepted':
      return o.action.kind === 'ignore'
        ? { kind: 'answer', httpStatus: 200, body: { ...base, outcome: 'ignored', note: o.action.note } }
        : { kind: 'answer', httpStatus: 200, body: { ...base, outcome: 'accepted', reservation: outcome.reservation } };
    case 'refused':
      return {
        kind: 'answer',
        httpStatus: 200,
        body: {
          ...base,
          outcome: 'refused',
          refusal: { reason: outcome.reason, message: outcome.message, details: outcome.details },
        },
      };
    case 'invalid':
      return {
        kind: 'problem',
        problem: {
          status: 422,
          reason: 'REJECTED_BY_CORE',
          title: 'The order cannot be applied as sent',
          detail: outcome.message,
        },
      };
    case 'unavailable':
      return {
        kind: 'problem',
        problem: {
          status: 503,
          reason: 'CORE_UNAVAILABLE',
          title: 'The stock ledger could not answer',
          detail: `nothing was applied; retry this delivery (core: ${outcome.code})`,
        },
      };
    default: {
      const never: never = outcome;
      throw new Error(`unhandled outcome ${JSON.stringify(never)}`);
    }
  }
};
