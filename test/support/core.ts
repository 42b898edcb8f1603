// One running `stockmind core` on a database and namespace of its own, with the catalog each tenant
// moves stock of registered first, and the clients a spec opens (closed, with the cores, after).
import { afterAll, beforeAll, expect } from 'vitest';
import { Http2SessionManager } from '@connectrpc/connect-node';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { createGrpcClient } from '../../loadtest/runner/grpcClient.js';
import { freePort, startCoreProcess } from '../../loadtest/bench/processes.js';
import { rejection } from './app.js';
import { registerCatalogRpc } from './catalog.js';
import { createTestDatabase } from './db.js';
import { testNamespace } from './readside.js';
import { tokenFor } from './tokens.js';
import type { ServiceError } from '@grpc/grpc-js';
import type { CoreHandle } from '../../loadtest/bench/processes.js';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { TestDatabase } from './db.js';

/** The failure of a grpc-js call that must fail, to assert on its code and details. */
export const failure = (call: Promise<unknown>) => rejection(call) as Promise<ServiceError>;

export type Catalog = Record<string, { skus: string[]; locations: string[] }>;

export type CoreHarness = {
  db: TestDatabase;
  core: CoreHandle;
  /** host:port of the core, for grpc-js clients. */
  address: string;
  /** host:port of the core's grpc-js server (CORE_GRPC_PORT), when the harness was asked for it. */
  grpcJsAddress: string | null;
  /** What the core runs with (database, pool, namespace): for more cores and CLI runs on the same ledger. */
  env(): Record<string, string>;
  /** An InventoryService client (with the token, if any) of the core or of the process at `at`. */
  grpcClient(token?: string, at?: string): GrpcClient;
  /** Closes the client with the others at the end. */
  track<C extends { close(): void }>(client: C): C;
  /** An HTTP/2 session to the core, aborted at the end. */
  session(): Http2SessionManager;
  /** Another core on the same database and namespace, stopped at the end. */
  startAnother(): Promise<CoreHandle>;
  /** Closes every client, stops every core and drops the database; resolves with the cores' exit codes. */
  close(): Promise<(number | null)[]>;
};

/** Starts the core and registers, for each tenant, the products and locations it moves stock of. */
export const startCoreHarness = async (
  label: string,
  catalog: Catalog,
  o: { grpcJs?: boolean } = {},
): Promise<CoreHarness> => {
  const db = await createTestDatabase(label, 4);
  const namespace = testNamespace(label);
  const env = () => ({ DATABASE_URL: db.url, STOCKMIND_PG_POOL_MAX: '5', STOCKMIND_NAMESPACE: namespace });
  const grpcJsPort = o.grpcJs === true ? await freePort() : null;
  const core = await startCoreProcess({
    ...env(),
    ...(grpcJsPort === null ? {} : { CORE_GRPC_PORT: String(grpcJsPort) }),
  });
  const address = `127.0.0.1:${core.port}`;
  const closers: { close(): void }[] = [];
  const sessions: Http2SessionManager[] = [];
  const cores: CoreHandle[] = [core];
  const track = <C extends { close(): void }>(client: C): C => {
    closers.push(client);
    return client;
  };
  const grpcClient = (token?: string, at = address): GrpcClient =>
    track(createGrpcClient(InventoryService, at, token === undefined ? {} : { token }));
  for (const [tenant, fixture] of Object.entries(catalog))
    await registerCatalogRpc(grpcClient(await tokenFor(tenant)), fixture);
  return {
    db,
    core,
    address,
    grpcJsAddress: grpcJsPort === null ? null : `127.0.0.1:${grpcJsPort}`,
    env,
    grpcClient,
    track,
    session() {
      const s = new Http2SessionManager(core.url);
      sessions.push(s);
      return s;
    },
    async startAnother() {
      const other = await startCoreProcess(env());
      cores.push(other);
      return other;
    },
    async close() {
      for (const c of closers) c.close();
      for (const s of sessions) s.abort();
      const codes = await Promise.all(cores.map((c) => c.stop()));
      await db.drop();
      return codes;
    },
  };
};

/**
 * A harness for the spec file's tests: started before them, closed after them (every core must
 * have exited 0). Returns the getter of the running harness.
 */
export const coreForSpec = (label: string, catalog: Catalog, o: { grpcJs?: boolean } = {}): (() => CoreHarness) => {
  let harness: CoreHarness | undefined;
  beforeAll(async () => {
    harness = await startCoreHarness(label, catalog, o);
  });
  afterAll(async () => {
    const codes = await harness?.close();
    expect(codes?.every((code) => code === 0)).toBe(true);
  });
  return () => {
    if (harness === undefined) throw new Error('the core harness has not started');
    return harness;
  };
};
