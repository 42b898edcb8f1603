// The grpc-js port's request check, the counterpart of framing.ts: grpc-js answers bytes that are
// not the method's message, and a frame it cannot decompress, with INTERNAL; a missing message or a
// frame cut short with UNIMPLEMENTED ("no request message"); a second message with UNIMPLEMENTED.
// Here each is INVALID_ARGUMENT saying what was wrong, as on the Connect port. A frame flagged
// compressed without grpc-encoding is read as uncompressed by grpc-js (so it must still decode).
import grpc from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { definitionOf } from './grpcDefinition.js';
import type { DescMessage, DescService } from '@bufbuild/protobuf';

/** What the server's deserializer hands on for bytes that are not the method's message. */
class MalformedRequest {
  constructor(readonly reason: string) {}
}

const tolerantDeserialize = (desc: DescMessage) => (buf: Buffer) => {
  try {
    return fromBinary(desc, buf);
  } catch (err) {
    return new MalformedRequest(`the request is not a valid ${desc.typeName}: ${(err as Error).message}`);
  }
};

/** The service definition for the grpc-js server: requests it cannot decode become MalformedRequest. */
export const serverDefinitionOf = (service: DescService): grpc.ServiceDefinition => {
  const def = definitionOf(service);
  return Object.fromEntries(
    service.methods.map((m) => [
      m.localName,
      { ...def[m.localName], requestDeserialize: tolerantDeserialize(m.input) },
    ]),
  ) as grpc.ServiceDefinition;
};

/** A server interceptor: every call carries exactly one message that decodes; else INVALID_ARGUMENT. */
export const requestCheck: grpc.ServerInterceptor = (_method, call) => {
  let messages = 0;
  let refused = false;
  const refuse = (details: string) => {
    refused = true;
    call.sendStatus({ code: grpc.status.INVALID_ARGUMENT, details, metadata: new grpc.Metadata() });
  };
  // grpc-js sends what it cannot read (a frame it cannot decompress) from inside the call, past every
  // interceptor's responder; before the handler has a message, an INTERNAL from there is the request's.
  const sendStatus = call.sendStatus.bind(call);
  call.sendStatus = (status) =>
    sendStatus(
      messages === 0 && status.code === grpc.status.INTERNAL
        ? { ...status, code: grpc.status.INVALID_ARGUMENT }
        : status,
    );
  return new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMessage: (message: unknown, forward) => {
          messages++;
          if (refused) return;
          if (message instanceof MalformedRequest) return refuse(message.reason);
          if (messages > 1) return refuse(`the request carries ${messages} messages; send one`);
          forward(message);
        },
        onReceiveHalfClose: (forward) => {
          if (refused) return;
          if (messages === 0)
            return refuse('the request carries no complete message (an empty body or a frame cut short)');
          forward();
        },
      }),
  });
};
