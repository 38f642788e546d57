/**
 * One worker stream as the worker sees it: what it sent (sequence numbers), the NEXTs not answered
 * yet, and the results sent but not yet known to be processed. The answer to a NEXT sent after a
 * result proves the planner processed the result (one stream, in order); results of a stream that
 * breaks before that are sent again on the next one.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CompleteSchema, WorkerMessageSchema } from '../../gen/strata/v1/planner_pb.js';
import { Channel } from './channel.js';
import { runningToWire } from './codec.js';
import type { Run } from './worker-runs.js';

export type Outgoing = MessageInitShape<typeof WorkerMessageSchema>;
type Complete = MessageInitShape<typeof CompleteSchema>;

/** Byte counts from the executor, made safe for the wire (NaN and negatives become 0). */
function wireCount(n: number): bigint {
  return Number.isFinite(n) && n > 0 ? BigInt(Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER)) : 0n;
}

export class WorkerStream {
  readonly input = new Channel<Outgoing>();
  /** Messages sent on this stream (a sequence number for each). */
  private sent = 0;
  /** Sequence numbers of the NEXTs not answered yet, oldest first. */
  private readonly nexts: number[] = [];
  /** Results sent and not yet known to be processed. */
  private unconfirmed: { readonly run: Run; readonly seq: number }[] = [];
  /** We half-closed the stream (stopping): an OK end means the planner processed everything. */
  halfClosed = false;
  /** A NO_PLAN retry is scheduled. */
  retrying = false;
  /** Got an answer other than NOT_LEADER: the planner works. */
  received = false;
  /** The planner reads a NEXT inside a COMPLETE (said so in a PLAN on this stream). */
  nextInComplete = false;
  /** The last COMPLETE queued, while a NEXT may still ride in it. */
  private lastComplete:
    { readonly m: Outgoing; readonly complete: Complete; readonly seq: number } | undefined;

  constructor(readonly address: string) {}

  get pendingNexts(): number {
    return this.nexts.length;
  }

  init(workerId: string, capacity: number, running: Iterable<Run>): void {
    this.send({
      msg: {
        case: 'init',
        value: { workerId, capacity, running: [...running].map((r) => runningToWire(r.plan)) },
      },
    });
  }

  /** Sharded: plans of a planner that left, for the planner of this stream to adopt. */
  adopt(runs: readonly Run[]): void {
    this.send({ msg: { case: 'adopt', value: { running: runs.map((r) => runningToWire(r.plan)) } } });
  }

  /** `maxWaitMs`: how long the planner may hold it until a plan can run (0: answer at once). */
  next(maxWaitMs: number): void {
    const last = this.lastComplete;
    this.lastComplete = undefined;
    if (last !== undefined && this.nextInComplete && this.input.holdsLast(last.m)) {
      // The COMPLETE just queued is not sent yet: the NEXT goes inside it (same sequence number).
      last.complete.next = { maxWaitMs };
      this.nexts.push(last.seq);
      return;
    }
    this.nexts.push(this.send({ msg: { case: 'next', value: { maxWaitMs } } }));
  }

  /** A PLAN or NO_PLAN answered the oldest NEXT: returns the results it proves processed. */
  answered(): Run[] {
    const seq = this.nexts.shift();
    // Results up to the NEXT's own message (a COMPLETE carrying it is processed before it).
    return seq === undefined ? [] : this.confirm(seq + 1);
  }

  /** Results sent before `beforeSeq`: known processed, forgotten here and returned. */
  confirm(beforeSeq: number): Run[] {
    let n = 0;
    while (n < this.unconfirmed.length && this.unconfirmed[n]!.seq < beforeSeq) n++;
    return this.unconfirmed.splice(0, n).map((u) => u.run);
  }

  /** Results whose processing was never proven (the stream ended): to be sent again. */
  takeUnconfirmed(): Run[] {
    const out = this.unconfirmed.map((u) => u.run);
    this.unconfirmed = [];
    return out;
  }

  /** A result the planner answered with CANCEL (it has it already, or no longer wants it). */
  forget(planId: string): void {
    const i = this.unconfirmed.findIndex((u) => u.run.plan.id === planId);
    if (i >= 0) this.unconfirmed.splice(i, 1);
  }

  /** Sends a finished run's COMPLETE or FAILED; it stays unconfirmed until proven processed. */
  result(run: Run): void {
    const res = run.result!;
    const planId = run.plan.id;
    const epoch = BigInt(run.plan.epoch);
    if (res.kind === 'complete') {
      const complete: Complete = { planId, epoch, outputUlids: [...res.outputs] };
      const m: Outgoing = { msg: { case: 'complete', value: complete } };
      const seq = this.send(m);
      this.lastComplete = { m, complete, seq };
      this.unconfirmed.push({ run, seq });
      return;
    }
    const seq = this.send({
      msg: {
        case: 'failed',
        value: {
          planId,
          epoch,
          reason: res.reason,
          retryable: res.retryable,
          failingBlock: res.failingBlock,
          abandoned: res.abandoned,
          errorCode: res.code,
          noCompactReason: res.noCompactReason,
        },
      },
    });
    this.unconfirmed.push({ run, seq });
  }

  progress(run: Run): void {
    const p = run.progress ?? { phase: 'running', bytesDone: 0, bytesTotal: 0 };
    run.sentPhase = p.phase;
    this.send({
      msg: {
        case: 'progress',
        value: {
          planId: run.plan.id,
          epoch: BigInt(run.plan.epoch),
          phase: p.phase,
          bytesDone: wireCount(p.bytesDone),
          bytesTotal: wireCount(p.bytesTotal),
        },
      },
    });
  }

  /** Stopping with nothing left to report: the planner ends the stream once it read everything. */
  halfClose(): void {
    this.halfClosed = true;
    this.input.close();
  }

  private send(m: Outgoing): number {
    this.input.push(m);
    return ++this.sent;
  }
}
