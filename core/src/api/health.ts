// grpc.health.v1: SERVING while the core can serve reads (the ledger or the Redis view answers), NOT_SERVING otherwise and during shutdown.
import type { Health } from '../../../gen/grpc/health/v1/health_pb.js';
import { HealthCheckResponse_ServingStatus as Status } from '../../../gen/grpc/health/v1/health_pb.js';
import { InventoryService } from '../../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Code, ConnectError } from '@connectrpc/connect';
import type { ServiceImpl } from '@connectrpc/connect';

export type HealthProbe = { status(): Promise<'SERVING' | 'NOT_SERVING'>; stopping(): boolean };

const KNOWN = new Set(['', InventoryService.typeName]);

export const healthImpl = (probe: HealthProbe): ServiceImpl<typeof Health> => ({
  async check(req) {
    if (!KNOWN.has(req.service)) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
    return { status: (await probe.status()) === 'SERVING' ? Status.SERVING : Status.NOT_SERVING };
  },
  async *watch(req, ctx) {
    if (!KNOWN.has(req.service)) {
      yield { status: Status.SERVICE_UNKNOWN };
      return;
    }
    let last: Status | undefined;
    while (!ctx.signal.aborted) {
      const status = (await probe.status()) === 'SERVING' ? Status.SERVING : Status.NOT_SERVING;
      if (status !== last) yield { status };
      last = status;
      // The last word during shutdown is NOT_SERVING; an open stream must not hold the server.
      if (probe.stopping()) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  },
});
