/**
 * The worker stream (strata.v1.Planner/Connect) served straight on node:http2 with gRPC's framing:
 * each message a 5-byte header (flags, big-endian length) and the protobuf bytes, the status in
 * the trailers. The same wire protocol Connect serves, without its per-message pipeline (several
 * async generators and promises per message in each direction), which was most of the planner's
 * CPU per plan handed out. Requests it does not serve itself (another path, compression, the JSON
 * codec) go to the Connect handler it wraps, so every gRPC client keeps working.
 */
import type * as http2 from 'node:http2';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  PlannerMessageSchema,
  WorkerMessageSchema,
  type WorkerMessage,
} from '../../gen/strata/v1/planner_pb.js';
import type { H2cHandler } from '../util/h2c-server.js';
import { encodePlanFrame } from './plan-frame.js';
import type { PlannerService } from './service.js';
import type { Session } from './session.js';

export const CONNECT_PATH = '/strata.v1.Planner/Connect';
/** Largest worker message accepted (an INIT listing its running plans is the largest). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const GRPC_PROTO = /^application\/grpc(\+proto)?$/i;

/** Whether this handler serves the request itself (else Connect does). */
function servesDirectly(req: http2.Http2ServerRequest): boolean {
  if (req.method !== 'POST' || req.url !== CONNECT_PATH) return false;
  if (!GRPC_PROTO.test(req.headers['content-type'] ?? '')) return false;
  const enc = req.headers['grpc-encoding'];
  return enc === undefined || enc === 'identity';
}

/** `fallback` for everything but the worker stream in binary protobuf without compression. */
export function plannerStreamHandler(service: PlannerService, fallback: H2cHandler): H2cHandler {
  return (req, res) => {
    if (servesDirectly(req)) new DirectStream(service, req, res);
    else fallback(req, res);
  };
}

function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

/** One worker stream: messages in, handled one after another; the session's messages out. */
class DirectStream {
  private readonly session: Session;
  /** Bytes of an incomplete frame. */
  private pending: Buffer | undefined;
  /** The message being handled; the next waits for it. */
  private chain: Promise<void> = Promise.resolve();
  /** No more input is read (rejected, or the stream ended). */
  private stopped = false;
  private ended = false;

  constructor(
    private readonly service: PlannerService,
    req: http2.Http2ServerRequest,
    private readonly res: http2.Http2ServerResponse,
  ) {
    res.writeHead(200, { 'content-type': 'application/grpc+proto' });
    this.session = service.open();
    res.on('close', () => this.gone());
    // A reset or broken stream ends the session; never an unhandled 'error' event.
    res.on('error', () => this.gone());
    req.on('error', () => this.gone());
    if (!this.session.out.isClosed) {
      req.on('data', (chunk: Buffer) => this.onData(chunk));
      req.on('end', () => this.onEnd());
    }
    void this.pump();
  }

  /** The planner's messages, framed, until the session's channel ends; then the status. */
  private async pump(): Promise<void> {
    let err: ConnectError | undefined;
    try {
      for await (const m of this.session.out) {
        if (this.ended) break;
        const fast = m.msg.case === 'plan' ? encodePlanFrame(m.msg.value) : undefined;
        this.res.write(fast ?? frame(toBinary(PlannerMessageSchema, m)));
      }
    } catch (e) {
      err = ConnectError.from(e, Code.Internal);
    }
    this.finish(err);
  }

  private finish(err: ConnectError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.stopped = true;
    if (!this.res.stream.destroyed && !this.res.writableEnded) {
      this.res.addTrailers(
        err === undefined
          ? { 'grpc-status': '0' }
          : { 'grpc-status': String(err.code), 'grpc-message': encodeURIComponent(err.rawMessage) },
      );
      this.res.end();
    }
    this.service.close(this.session);
  }

  /** The HTTP/2 stream closed (either side, any reason). */
  private gone(): void {
    this.stopped = true;
    this.ended = true;
    this.service.close(this.session);
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if ((buf[0]! & 1) !== 0)
        return this.reject(new ConnectError('compressed message without grpc-encoding', Code.Internal));
      if (len > MAX_MESSAGE_BYTES) {
        return this.reject(
          new ConnectError(`message of ${len} bytes, more than ${MAX_MESSAGE_BYTES}`, Code.ResourceExhausted),
        );
      }
      if (buf.length < 5 + len) break;
      let m: WorkerMessage;
      try {
        m = fromBinary(WorkerMessageSchema, buf.subarray(5, 5 + len));
      } catch (e) {
        return this.reject(new ConnectError(`malformed WorkerMessage: ${String(e)}`, Code.InvalidArgument));
      }
      this.chain = this.chain.then(() => this.handle(m));
      buf = buf.subarray(5 + len);
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }

  private onEnd(): void {
    if (this.stopped) return;
    if (this.pending !== undefined) {
      return this.reject(new ConnectError('stream ended inside a message', Code.InvalidArgument));
    }
    this.chain = this.chain.then(() => {
      if (!this.stopped) this.service.endOfInput(this.session);
    });
  }

  private async handle(m: WorkerMessage): Promise<void> {
    if (this.stopped || this.session.out.isClosed) return;
    try {
      await this.service.handle(this.session, m);
    } catch (err) {
      this.reject(err);
    }
  }

  /** Ends the stream with the error's status (after the messages already queued). */
  private reject(err: unknown): void {
    this.stopped = true;
    if (!this.session.closed) this.session.out.fail(this.service.reject(this.session, err));
  }
}
