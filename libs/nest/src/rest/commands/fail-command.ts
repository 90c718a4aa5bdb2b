import {
  afterFailedAttempt,
  Clock,
  CommandQueue,
  CommandStatus,
  ErrorCode,
  EsflowError,
  InstanceView,
  QueuedCommand,
  retryPolicyOfCommand,
  WorkflowCatalog,
  WorkflowEngine,
} from '@esflow/core';
import { rejected } from '../http/request-parsing';

/**
 * How long a command that failed for good stays out of every lease after the worker's report:
 * until the dispatcher has indexed the `IncidentRaised` or `CommandFailed` the report recorded
 * (which settles it in the queue at once). A day, so that no worker takes it meanwhile.
 */
export const SETTLING_HOLD_MS = 24 * 60 * 60 * 1000;

/** The statuses of a command its instance settled: nothing is left to report of it. */
const SETTLED: ReadonlySet<CommandStatus> = new Set([
  CommandStatus.Completed,
  CommandStatus.Failed,
  CommandStatus.Withdrawn,
  CommandStatus.Resolved,
]);

/** What {@link failCommandAttempt} works with. */
export interface FailCommandPorts {
  readonly queue: CommandQueue;
  readonly engine: WorkflowEngine;
  readonly catalog: WorkflowCatalog;
  /** The runtime's clock: the one leases and back-offs are judged by. */
  readonly clock: Clock;
  /** A number in [0, 1), for the back-off's jitter. */
  readonly random: () => number;
}

/** A worker's report that its attempt at a command failed. */
export interface FailedAttemptReport {
  readonly commandId: string;
  readonly workerId: string;
  readonly error: string;
  /** False: no further attempt can succeed; the failure is final now. */
  readonly retryable: boolean;
}

/**
 * What came of a failed attempt: another one later (`pending`, leased again from `retryAt`), or
 * none: an incident for an operator, or the error delivered to the workflow (`failed`).
 */
export type FailedAttemptOutcome =
  | {
      readonly status: 'pending';
      readonly commandId: string;
      readonly attempts: number;
      readonly retryAt: Date;
    }
  | {
      readonly status: 'incident';
      readonly commandId: string;
      readonly attempts: number;
      readonly incidentId: string;
      readonly instance: InstanceView;
    }
  | {
      readonly status: 'failed';
      readonly commandId: string;
      readonly attempts: number;
      readonly instance: InstanceView;
    };

/**
 * A failed attempt of a leased command, decided by its command type's retry policy (that of the
 * definition version its instance is pinned to): while attempts remain (and the failure is
 * retryable) the command is given back, pending again after the policy's back-off; otherwise the
 * engine records the final failure (`IncidentRaised`, or `CommandFailed` for an invoke whose
 * state has `onError`) and the command is given back out of reach of every lease for
 * {@link SETTLING_HOLD_MS}, until the dispatcher settles it from that fact.
 *
 * Only the lease owner may report: the command must be leased by `workerId` (a lease that
 * expired counts until another worker takes it, as a Camunda external task's lock owner may still
 * report). Refusals, with nothing written: COMMAND_NOT_FOUND (the queue knows no such command),
 * COMMAND_NOT_IN_FLIGHT (the instance settled it: completed, failed, withdrawn, resolved),
 * LEASE_NOT_HELD (also for a report repeated after the first ended the lease), or the engine's
 * rejection.
 */
export async function failCommandAttempt(
  ports: FailCommandPorts,
  report: FailedAttemptReport,
): Promise<FailedAttemptOutcome> {
  const { queue, engine, clock } = ports;
  const { commandId, workerId, error } = report;
  const command = await queue.get(commandId);
  if (!command) throw commandNotFound(commandId);
  if (SETTLED.has(command.status)) throw commandNotInFlight(command);
  if (!leasedBy(command, workerId)) throw leaseNotHeld(command, workerId);
  const now = clock.now();
  const policy = await retryPolicyOfCommand(ports.engine.queries, ports.catalog, command);
  const next = afterFailedAttempt(policy, command.attempts, now, ports.random, report.retryable);
  if ('retryAt' in next) {
    if (!(await queue.release(commandId, workerId, next.retryAt, error)))
      throw leaseNotHeld((await queue.get(commandId)) ?? command, workerId);
    return { status: 'pending', commandId, attempts: command.attempts, retryAt: next.retryAt };
  }

  const attempts = Math.max(1, command.attempts);
  const result = await engine.commands.fail({
    workflow: command.workflow,
    id: command.instanceId,
    commandId,
    attempts,
    error,
  });
  if (!result.ok) rejected(result.rejection);
  const outcome = result.value;
  const incident = outcome.instance.incidents.find((open) => open.commandId === commandId);
  const errorDelivered =
    outcome.outcome === 'recorded' ? outcome.settledAs === 'errorDelivered' : !incident;
  if (outcome.outcome === 'notInFlight' && !incident) throw commandNotInFlight(command);
  // Out of every lease until the dispatcher settles it; it may have already (then this is false).
  await queue.release(commandId, workerId, new Date(now.getTime() + SETTLING_HOLD_MS), error);
  return errorDelivered || !incident
    ? { status: 'failed', commandId, attempts, instance: outcome.instance }
    : {
        status: 'incident',
        commandId,
        attempts,
        incidentId: incident.incidentId,
        instance: outcome.instance,
      };
}

/** Whether `workerId` holds the command's lease, expired or not (see {@link CommandQueue.release}). */
const leasedBy = (command: QueuedCommand, workerId: string) =>
  command.status === CommandStatus.Leased && command.leaseOwner === workerId;

/** COMMAND_NOT_FOUND for `commandId`. */
export function commandNotFound(commandId: string): EsflowError {
  return new EsflowError(
    ErrorCode.CommandNotFound,
    `the command queue knows no command ${commandId} (it follows the log: a command just dispatched may take a moment to appear)`,
    { details: { commandId } },
  );
}

/**
 * COMMAND_NOT_IN_FLIGHT for a command its instance settled otherwise, with its status as the queue
 * knows it (which may not show the settlement yet: the queue follows the log).
 */
export function commandNotInFlight(command: QueuedCommand): EsflowError {
  const status = SETTLED.has(command.status)
    ? `it is ${command.status}`
    : 'the instance settled it otherwise (completed, failed, withdrawn or resolved)';
  return new EsflowError(
    ErrorCode.CommandNotInFlight,
    `command ${command.commandId} (${command.commandType}) of ${command.workflow} ${command.instanceId} is not in flight any more: ${status}`,
    { details: { commandId: command.commandId, commandStatus: command.status } },
  );
}

function leaseNotHeld(command: QueuedCommand, workerId: string): EsflowError {
  const leaseOwner = command.status === CommandStatus.Leased ? command.leaseOwner : null;
  return new EsflowError(
    ErrorCode.LeaseNotHeld,
    leaseOwner === null
      ? `${workerId} does not hold the lease of command ${command.commandId}: it is ${command.status}, not leased`
      : `${workerId} does not hold the lease of command ${command.commandId}: ${leaseOwner} does`,
    { details: { commandId: command.commandId, workerId, leaseOwner } },
  );
}
