import { ErrorCode, EsflowError, InstanceView, QueuedCommand } from '@esflow/core';
import type {
  CommandInstanceResponse,
  LeasedCommandResponse,
  QueuedCommandResponse,
} from './commands.dto';

// How the command queue's records and the engine's instance views are shown over REST.

/** A command's fields: its `payloadJson`, which the dispatcher stored from a validated payload. */
export function payloadOf(command: QueuedCommand): Record<string, unknown> {
  try {
    return JSON.parse(command.payloadJson) as Record<string, unknown>;
  } catch (cause) {
    throw new EsflowError(
      ErrorCode.Internal,
      `command ${command.commandId} has a payload that is not JSON`,
      { cause },
    );
  }
}

/** A command as a worker that leased it sees it. */
export function leasedView(command: QueuedCommand): LeasedCommandResponse {
  return {
    commandId: command.commandId,
    commandType: command.commandType,
    workflow: command.workflow,
    instanceId: command.instanceId,
    payload: payloadOf(command),
    attempts: command.attempts,
    leaseUntil: command.leaseUntil!,
    dispatchedAt: command.dispatchedAt,
    lastError: command.lastError,
  };
}

/** A command as `GET /commands` lists it: every field of the queue, the payload parsed. */
export function queuedView(command: QueuedCommand): QueuedCommandResponse {
  return {
    commandId: command.commandId,
    commandType: command.commandType,
    workflow: command.workflow,
    instanceId: command.instanceId,
    payload: payloadOf(command),
    dispatchedAt: command.dispatchedAt,
    dispatchedRevision: command.dispatchedRevision,
    status: command.status,
    attempts: command.attempts,
    availableAt: command.availableAt,
    leaseOwner: command.leaseOwner,
    leaseUntil: command.leaseUntil,
    lastError: command.lastError,
    incidentId: command.incidentId,
  };
}

/** An instance after a command outcome: no context (it may be large), with its commands. */
export function instanceView(instance: InstanceView): CommandInstanceResponse {
  const { workflow, id, version, state, status, revision } = instance;
  return {
    workflow,
    id,
    version,
    state,
    status,
    revision,
    pendingTimers: [...instance.pendingTimers],
    inFlightCommands: [...instance.inFlightCommands],
    incidents: [...instance.incidents],
  };
}
