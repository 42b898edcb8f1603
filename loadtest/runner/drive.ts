// Drives the calls: `concurrency` callers over `connections` HTTP/2
// connections. Without rps it is a closed loop (each caller sends its next
// request when the previous one answered). With rps it is an open loop: request
// n is due at start + n/rps, and its latency counts from that due time, so a
// server that falls behind shows the queueing it causes instead of hiding it
// (coordinated omission).
import { fromJson } from '@bufbuild/protobuf';
import { expand } from './template.js';
import { createRecorder } from './report.js';
import type { DescMessage, DescMethod, JsonValue, MessageShape } from '@bufbuild/protobuf';
import type { GrpcClient } from './grpcClient.js';
import type { RunPlan } from './config.js';
import type { CallInfo, RequestContext } from './template.js';
import type { GhzResult, Recorder } from './report.js';

export type Progress = { elapsedMs: number; count: number; ok: number; failed: number; p99Ns: number };

export type DriveOptions = {
  plan: RunPlan;
  method: DescMethod;
  clients: GrpcClient[];
  /** Called once a second while the run lasts. */
  onProgress?: (p: Progress) => void;
  /** Called after each successful call with what was sent and answered (e.g. to measure read-model lag). */
  onSuccess?: (request: MessageShape<DescMessage>, response: unknown) => void;
  options?: Record<string, unknown>;
};

export const callInfoOf = (method: DescMethod): CallInfo => ({
  fullyQualifiedName: `${method.parent.typeName}.${method.name}`,
  methodName: method.name,
  serviceName: method.parent.typeName,
  inputName: method.input.name,
  outputName: method.output.name,
  isClientStreaming: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
  isServerStreaming: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
});

/** The request message and metadata for request number n, as ghz would build them. */
export const buildRequest = (
  plan: RunPlan,
  method: DescMethod,
  ctx: RequestContext,
): { message: MessageShape<DescMessage>; metadata: Record<string, string> } => {
  const template = plan.data[ctx.requestNumber % plan.data.length] ?? plan.data[0];
  if (template === undefined) throw new Error('no call data');
  const message = fromJson(method.input, JSON.parse(expand(template, ctx)) as JsonValue);
  const metadata = plan.metadata === null ? {} : (JSON.parse(expand(plan.metadata, ctx)) as Record<string, string>);
  return { message, metadata };
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const drive = async (o: DriveOptions): Promise<{ result: GhzResult; recorder: Recorder }> => {
  const { plan, method } = o;
  const call = callInfoOf(method);
  const recorder = createRecorder({ name: plan.name, options: o.options ?? {} });
  const started = performance.now();
  const stopAt = plan.durationMs === null ? Number.POSITIVE_INFINITY : started + plan.durationMs;
  const interval = plan.rps === null ? 0 : 1000 / plan.rps;
  let next = 0;
  const take = (): number | null => {
    if (plan.total !== null && next >= plan.total) return null;
    if (performance.now() >= stopAt) return null;
    // Open loop: a request due after the end of a timed run is never sent.
    if (plan.rps !== null && started + next * interval >= stopAt) return null;
    return next++;
  };
  const progress =
    o.onProgress === undefined
      ? null
      : setInterval(() => {
          o.onProgress?.({
            elapsedMs: performance.now() - started,
            count: recorder.count,
            ok: recorder.okCount,
            failed: recorder.count - recorder.okCount,
            p99Ns: recorder.percentile(99),
          });
        }, 1000);
  const worker = async (w: number) => {
    const client = o.clients[w % o.clients.length] as GrpcClient;
    const workerId = `g${w % o.clients.length}c${w}`;
    for (let n = take(); n !== null; n = take()) {
      let t0 = performance.now();
      if (plan.rps !== null) {
        const due = started + n * interval;
        if (due - t0 > 1) await sleep(due - t0);
        t0 = due;
      }
      let request: { message: MessageShape<DescMessage>; metadata: Record<string, string> };
      try {
        request = buildRequest(plan, method, { requestNumber: n, workerId, now: new Date(), call });
      } catch (err) {
        recorder.failed(3, `could not build request ${n}: ${(err as Error).message}`);
        continue;
      }
      try {
        const response = await client.unary(method as never, request.message as never, {
          metadata: request.metadata,
          deadlineMs: plan.timeoutMs,
        });
        recorder.ok((performance.now() - t0) * 1e6);
        o.onSuccess?.(request.message, response);
      } catch (err) {
        const e = err as { code?: unknown; details?: unknown; message?: unknown };
        recorder.failed(e.code, typeof e.details === 'string' ? e.details : String(e.message));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: plan.concurrency }, (_, w) => worker(w)));
  } finally {
    if (progress !== null) clearInterval(progress);
  }
  return { result: recorder.snapshot((performance.now() - started) * 1e6), recorder };
};
