// A @grpc/grpc-js service definition for any protobuf-es service, so grpc-js
// clients and the grpc-js server share one (de)serialisation.
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type grpc from '@grpc/grpc-js';
import type { DescMessage, DescService, MessageShape } from '@bufbuild/protobuf';

export const definitionOf = (service: DescService): grpc.ServiceDefinition => {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    def[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
      responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
      requestSerialize: (msg: unknown) => Buffer.from(toBinary(m.input, msg as MessageShape<DescMessage>)),
      requestDeserialize: (buf: Buffer) => fromBinary(m.input, buf),
      responseSerialize: (msg: unknown) => Buffer.from(toBinary(m.output, msg as MessageShape<DescMessage>)),
      responseDeserialize: (buf: Buffer) => fromBinary(m.output, buf),
    };
  }
  return def;
};
