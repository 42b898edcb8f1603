// What `stockmind help` prints, and the error a wrong command line raises (exit 64).
import { ROLES } from '../platform/auth/tokens.js';
import { CHANNELS } from '../contracts/channels.js';

export const USAGE = `usage: stockmind <command> [options]

commands:
  start                     run everything (core, relay, projectors, REST edge, marketplace webhooks,
                            partner webhooks out) and print a development token
  core                      run the core alone (gRPC, gRPC-Web and Connect on CORE_PORT, default 50051;
                            plain gRPC over grpc-js on CORE_GRPC_PORT too, when set)
  edge                      run the REST edge alone (EDGE_PORT, default 8080) against the core at CORE_URL
  relay                     run the relay alone (Postgres events -> NATS JetStream)
  project availability      run the availability projector alone (JetStream -> Redis)
  project analytics         run the analytics projector alone (JetStream -> ANALYTICS_DATABASE_URL)
  project webhooks-out      run partner webhook delivery alone (JetStream -> subscribed partner URLs)
  webhooks                  run the marketplace webhook gateway alone (WEBHOOK_PORT, default 8081; core at CORE_URL)
  webhooks secret --tenant T --marketplace M [--rotate]
                            print the tenant's signing secret for a marketplace (created when missing)
  replay availability|analytics [--tenant T]
                            rebuild a read model from the event store
  verify availability [--tenant T]
                            compare Redis with the ledger; print drifting keys, exit 1 on drift
  migrate                   create the database if missing and apply migrations
  token --tenant T --roles R[,R] [--sub S] [--channels C[,C]] [--locations L[,L]] [--ttl SECONDS (1..86400, default 43200)]
                            print a bearer token (roles: ${ROLES.join(', ')};
                            channels: ${CHANNELS.map((c) => `CHANNEL_${c}`).join(', ')})
  bench reserve|query|lag|servers|telemetry [--seconds N] [--concurrency N,N] [--skus N] [--rate N]
                            figures for docs/benchmarks.md, each with a baseline from the same run
  seed [--tenants N] [--locations N] [--skus N] [--store-skus N]
                            bulk-load a dataset (COPY) and rebuild the read models
  loadtest <ghz config.json> [--total N] [-c N] [--rps N] [--duration D] [--p95 D] ...
                            run a ghz config with grpc-js clients; exit 1 when a budget is missed

environment: DATABASE_URL, ANALYTICS_DATABASE_URL, NATS_URL, REDIS_URL, STOCKMIND_NAMESPACE,
             CORE_PORT, CORE_GRPC_PORT, CORE_URL, EDGE_PORT, WEBHOOK_PORT, STOCKMIND_WEBHOOK_*,
             STOCKMIND_METRICS_PORT, STOCKMIND_DRAIN_MS, OTEL_*, STOCKMIND_JWT_SECRET, NODE_ENV, LOG_LEVEL
             (README: Configuration, Operating it)`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
