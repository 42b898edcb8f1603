// A @grpc/grpc-js client for any protobuf-es service: the clients load testers
// and other services use, independent of the Connect server implementation.
import grpc from '@grpc/grpc-js';
import { create, fromBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { createRegistry } from '@bufbuild/protobuf';
import { StatusSchema } from '../../gen/google/rpc/status_pb.js';
import { BadRequestSchema, ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { definitionOf } from '../../core/src/api/grpcDefinition.js';
import type { DescMessage, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { BadRequest, ErrorInfo } from '../../gen/google/rpc/error_details_pb.js';

type AnyFn = (...args: never[]) => unknown;

export type CallOptions = { token?: string; deadlineMs?: number; metadata?: Record<string, string> };

export type GrpcClient = {
  unary<I extends DescMessage, O extends DescMessage>(
    method: { name: string; localName: string; input: I; output: O },
    request: MessageInitShape<I>,
    options?: CallOptions,
  ): Promise<MessageShape<O>>;
  close(): void;
};

/** One HTTP/2 connection per client; create several for parallel load. */
export const createGrpcClient = (service: DescService, address: string, defaults: CallOptions = {}): GrpcClient => {
  const Ctor = grpc.makeGenericClientConstructor(definitionOf(service), service.name);
  // A distinct channel per client object: grpc-js would otherwise share one subchannel.
  const client = new Ctor(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  }) as unknown as Record<string, AnyFn> & grpc.Client;
  return {
    unary(method, request, options = {}) {
      const o = { ...defaults, ...options };
      const md = new grpc.Metadata();
      if (o.token !== undefined) md.set('authorization', `Bearer ${o.token}`);
      for (const [k, v] of Object.entries(o.metadata ?? {})) md.set(k, v);
      const callOptions: grpc.CallOptions = o.deadlineMs === undefined ? {} : { deadline: Date.now() + o.deadlineMs };
      return new Promise((resolve, reject) => {
        const fn = client[method.localName] as unknown as (
          req: unknown,
          md: grpc.Metadata,
          opts: grpc.CallOptions,
          cb: (err: grpc.ServiceError | null, res: unknown) => void,
        ) => void;
        fn.call(client, create(method.input, request), md, callOptions, (err, res) =>
          err ? reject(err) : resolve(res as MessageShape<typeof method.output>),
        );
      });
    },
    close: () => client.close(),
  };
};

const registry = createRegistry(ErrorInfoSchema, BadRequestSchema);

/** The google.rpc details a failed call carried (ErrorInfo, BadRequest). */
export const errorDetails = (err: unknown): { errorInfo?: ErrorInfo; badRequest?: BadRequest } => {
  const raw = (err as grpc.ServiceError | undefined)?.metadata?.get('grpc-status-details-bin')[0];
  if (raw === undefined) return {};
  const status = fromBinary(StatusSchema, typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw);
  const out: { errorInfo?: ErrorInfo; badRequest?: BadRequest } = {};
  for (const any of status.details) {
    const msg = anyUnpack(any, registry);
    if (msg?.$typeName === 'google.rpc.ErrorInfo') out.errorInfo = msg as ErrorInfo;
    if (msg?.$typeName === 'google.rpc.BadRequest') out.badRequest = msg as BadRequest;
  }
  return out;
};

export { grpc };
