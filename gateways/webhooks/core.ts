// Calls to the core on behalf of a tenant whose marketplace signature verified:
// a short-lived channel_service token for CHANNEL_MARKETPLACE only, minted here.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { ReservationStatus } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { Channel } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { signToken } from '../../platform/auth/tokens.js';
import { reservationIdFor } from './adapters/index.js';
import type { Client } from '@connectrpc/connect';
import type { Reservation } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import type { OrderAction } from './adapters/types.js';

export type InventoryClient = Client<typeof InventoryService>;

export const createInventoryClient = (coreUrl: string): InventoryClient =>
  createClient(
    InventoryService,
    createGrpcTransport({ baseUrl: coreUrl, defaultTimeoutMs: 10_000, idleConnectionTimeoutMs: 60_000 }),
  );

const TOKEN_TTL_SECONDS = 300;

/** One token per tenant, reused until a minute before it expires. */
export const marketplaceTokens = (secret: string, now: () => number = Date.now) => {
  const cache = new Map<string, { token: string; renewAt: number }>();
  return async (tenantId: string): Promise<string> => {
    const hit = cache.get(tenantId);
    if (hit !== undefined && hit.renewAt > now()) return hit.token;
    const token = await signToken(
      secret,
      {
        tenant: tenantId,
        sub: 'webhook-gateway',
        roles: ['channel_service'],
        locations: [],
        channels: ['MARKETPLACE'],
      },
      TOKEN_TTL_SECONDS,
    );
    if (cache.size > 10_000) cache.clear();
    cache.set(tenantId, { token, renewAt: now() + (TOKEN_TTL_SECONDS - 60) * 1000 });
    return token;
  };
};

export type ReservationView = {
  reservationId: string;
  status: string;
  expiresAt: string | null;
  lines: { sku: string; locationId: string; quantity: number }[];
};

export type CoreOutcome =
  | { kind: 'accepted'; reservation: ReservationView | null }
  | { kind: 'refused'; reason: string; message: string; details: Record<string, string> }
  | { kind: 'invalid'; message: string }
  | { kind: 'unavailable'; message: string; code: string };

const view = (r: Reservation | undefined): ReservationView | null =>
  r === undefined
    ? null
    : {
        reservationId: r.reservationId,
        status: ReservationStatus[r.status] ?? String(r.status),
        expiresAt: r.expiresAt === undefined ? null : timestampDate(r.expiresAt).toISOString(),
        lines: r.lines.map((l) => ({
          sku: l.sku,
          locationId: l.locationId,
          quantity: Number(l.baseQuantity || l.quantity),
        })),
      };

// Business answers: definitive, reported to the marketplace as a refusal. Everything else the
// marketplace should retry (the core is down, busy, or this gateway is misconfigured).
const REFUSALS = new Set([Code.FailedPrecondition, Code.NotFound, Code.AlreadyExists]);

const outcomeOfError = (err: unknown): CoreOutcome => {
  const e = ConnectError.from(err);
  if (REFUSALS.has(e.code)) {
    const info = e.findDetails(ErrorInfoSchema)[0];
    return {
      kind: 'refused',
      reason: info?.reason ?? Code[e.code],
      message: e.rawMessage,
      details: { ...(info?.metadata ?? {}) },
    };
  }
  if (e.code === Code.InvalidArgument) return { kind: 'invalid', message: e.rawMessage };
  return { kind: 'unavailable', message: e.rawMessage, code: Code[e.code] ?? String(e.code) };
};

export type CallContext = { token: string; correlationId: string; marketplace: string };

export const executeAction = async (
  client: InventoryClient,
  action: OrderAction,
  ctx: CallContext,
): Promise<CoreOutcome> => {
  const headers = { authorization: `Bearer ${ctx.token}`, 'correlation-id': ctx.correlationId };
  const reservationId = reservationIdFor(ctx.marketplace, action.orderId);
  try {
    switch (action.kind) {
      case 'reserve': {
        const res = await client.reserveStock(
          {
            reservationId,
            channel: Channel.MARKETPLACE,
            orderRef: action.orderId,
            lines: action.lines.map((l) => ({ sku: l.sku, locationId: l.locationId, quantity: BigInt(l.quantity) })),
          },
          { headers },
        );
        return { kind: 'accepted', reservation: view(res.reservation) };
      }
      case 'confirm':
        return {
          kind: 'accepted',
          reservation: view(
            (await client.confirmReservation({ reservationId, orderRef: action.orderId }, { headers })).reservation,
          ),
        };
      case 'release':
        return {
          kind: 'accepted',
          reservation: view(
            (await client.releaseStock({ reservationId, reason: action.reason.slice(0, 256) }, { headers }))
              .reservation,
          ),
        };
      case 'ignore':
        return { kind: 'accepted', reservation: null };
      default: {
        const never: never = action;
        throw new Error(`unhandled action ${JSON.stringify(never)}`);
      }
    }
  } catch (err) {
    return outcomeOfError(err);
  }
};
