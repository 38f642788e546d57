/** One worker stream as the planner sees it, and the planner's messages on it. */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  PlannerMessageSchema,
  type PlanAssignment,
  type PlannerMessage,
} from '../../gen/strata/v1/planner_pb.js';
import { Channel } from './channel.js';

const MAX_CANCELLED_REMEMBERED = 1024;

/** One worker stream. `out` carries the planner's messages to it. */
export class Session {
  readonly out = new Channel<PlannerMessage>();
  workerId: string | undefined;
  capacity = 0;
  initialized = false;
  closed = false;
  /** When its last message arrived. */
  lastSeenAt: number;
  /** NEXTs of this stream the planner holds (long poll), not answered yet. */
  heldNexts = 0;
  /** Plans cancelled on this stream: late reports about them are ignored, not refused. */
  readonly cancelled = new Set<string>();

  constructor(
    readonly id: string,
    /** The leadership term the stream was opened in (see LeadershipGate). */
    readonly term: number,
    readonly openedAt: number,
  ) {
    this.lastSeenAt = openedAt;
  }

  send(m: MessageInitShape<typeof PlannerMessageSchema>['msg']): void {
    this.out.push(create(PlannerMessageSchema, { msg: m }));
  }

  /** PLAN, already a complete message (no `create`: this is the one message sent per plan). */
  sendPlan(plan: PlanAssignment): void {
    this.out.push({ $typeName: 'strata.v1.PlannerMessage', msg: { case: 'plan', value: plan } });
  }

  /** CANCEL: the worker stops the plan and never reports it. */
  cancel(planId: string, reason: string): void {
    this.cancelled.add(planId);
    if (this.cancelled.size > MAX_CANCELLED_REMEMBERED) {
      this.cancelled.delete(this.cancelled.values().next().value!);
    }
    this.send({ case: 'cancel', value: { planId, reason } });
  }

  /** NOT_LEADER (with the leader's address, if known), then the end of the stream. */
  notLeader(leaderAddress: string | undefined): void {
    this.send({ case: 'notLeader', value: { leaderAddress: leaderAddress ?? '' } });
    this.out.close();
  }
}

export function failedPrecondition(msg: string): ConnectError {
  return new ConnectError(msg, Code.FailedPrecondition);
}
