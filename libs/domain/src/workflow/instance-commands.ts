import {
  CommandCompletedPayload,
  CommandDispatchedPayload,
  CommandFailedPayload,
  CommandWithdrawnPayload,
  FrameworkEvent,
  IncidentRaisedPayload,
  IncidentResolvedPayload,
} from './framework-events';
import { TimerFact } from './instance-timers';

/** A command the instance dispatched that is not completed (nor resolved by hand) yet. */
export interface InFlightCommand {
  readonly commandId: string;
  readonly commandType: string;
  /** The revision of its `CommandDispatched` fact. */
  readonly dispatchedRevision: number;
  /** For an invoked actor's command, the invoke's id; null for an emitted command. */
  readonly invokeId: string | null;
  /** Its open incident, when it failed for good and waits for an operator. */
  readonly incidentId: string | null;
  /** How many incidents it had (the next incident's id derives from it). */
  readonly incidents: number;
}

/** An open incident: a command that failed for good, waiting for an operator. */
export interface OpenIncident {
  readonly incidentId: string;
  readonly commandId: string;
  readonly commandType: string;
  readonly attempts: number;
  readonly error: string;
  /** The revision of its `IncidentRaised` fact. */
  readonly raisedRevision: number;
}

/** The commands and incidents of an instance, kept while folding its stream. */
export interface CommandBook {
  readonly inFlight: ReadonlyMap<string, InFlightCommand>;
  readonly incidents: ReadonlyMap<string, OpenIncident>;
}

/** An instance without commands. */
export const NO_COMMANDS: CommandBook = { inFlight: new Map(), incidents: new Map() };

/** A fact with the revision it was (or will be) recorded at. */
export type RevisionedFact = TimerFact & { readonly revision: number };

/**
 * The book after `facts`: `CommandDispatched` puts a command in flight, `CommandCompleted`,
 * `CommandFailed` and `CommandWithdrawn` take it out (closing its incident, if open), `IncidentRaised` opens an incident on it, `IncidentResolved` closes it (a
 * retry keeps the command in flight, a manual resolution settles it). Returns `book` itself
 * when nothing changed.
 */
export function nextCommandBook(book: CommandBook, facts: readonly RevisionedFact[]): CommandBook {
  let inFlight: Map<string, InFlightCommand> | undefined;
  let incidents: Map<string, OpenIncident> | undefined;
  const commands = () => (inFlight ??= new Map(book.inFlight));
  const open = () => (incidents ??= new Map(book.incidents));
  for (const fact of facts) {
    switch (fact.type) {
      case FrameworkEvent.CommandDispatched: {
        const { commandId, commandType, invokeId } =
          fact.payload as unknown as CommandDispatchedPayload;
        commands().set(commandId, {
          commandId,
          commandType,
          dispatchedRevision: fact.revision,
          invokeId: invokeId ?? null,
          incidentId: null,
          incidents: 0,
        });
        break;
      }
      case FrameworkEvent.CommandCompleted:
      case FrameworkEvent.CommandFailed:
      case FrameworkEvent.CommandWithdrawn: {
        const { commandId } = fact.payload as unknown as
          | CommandCompletedPayload
          | CommandFailedPayload
          | CommandWithdrawnPayload;
        const command = (inFlight ?? book.inFlight).get(commandId);
        if (command?.incidentId) open().delete(command.incidentId);
        if (command) commands().delete(commandId);
        break;
      }
      case FrameworkEvent.IncidentRaised: {
        const raised = fact.payload as unknown as IncidentRaisedPayload;
        const command = (inFlight ?? book.inFlight).get(raised.commandId);
        if (!command) break;
        commands().set(raised.commandId, {
          ...command,
          incidentId: raised.incidentId,
          incidents: command.incidents + 1,
        });
        open().set(raised.incidentId, {
          incidentId: raised.incidentId,
          commandId: raised.commandId,
          commandType: raised.commandType,
          attempts: Number(raised.attempts),
          error: raised.error,
          raisedRevision: fact.revision,
        });
        break;
      }
      case FrameworkEvent.IncidentResolved: {
        const resolved = fact.payload as unknown as IncidentResolvedPayload;
        if (!(incidents ?? book.incidents).has(resolved.incidentId)) break;
        open().delete(resolved.incidentId);
        const command = (inFlight ?? book.inFlight).get(resolved.commandId);
        if (!command) break;
        if (resolved.resolution === 'manual') commands().delete(resolved.commandId);
        else commands().set(resolved.commandId, { ...command, incidentId: null });
        break;
      }
    }
  }
  return inFlight || incidents
    ? { inFlight: inFlight ?? book.inFlight, incidents: incidents ?? book.incidents }
    : book;
}

/** The event an invoked actor's output reaches the machine as: XState's own done event. */
export function invokeDoneEvent(invokeId: string, output: unknown) {
  return { type: `xstate.done.actor.${invokeId}`, output };
}

/** The event an invoked actor's final failure reaches the machine as: XState's own error event. */
export function invokeErrorEvent(invokeId: string, error: string) {
  return { type: `xstate.error.actor.${invokeId}`, error: { message: error } };
}

/**
 * The machine event a recorded command outcome delivers, if any: an invoked command's
 * `CommandCompleted` (accepted) its done event with the output, its `CommandFailed` its error
 * event, its manual `IncidentResolved` its done event with the operator's output. Undefined for every other fact, and for an emitted command (its reply is an event of
 * its own).
 */
export function commandOutcomeEvent(
  book: CommandBook,
  type: string,
  payload: Readonly<Record<string, unknown>>,
): { type: string } | undefined {
  if (type === FrameworkEvent.CommandCompleted) {
    const completed = payload as unknown as CommandCompletedPayload;
    const invokeId = book.inFlight.get(completed.commandId)?.invokeId;
    if (!invokeId || !completed.replyAccepted) return undefined;
    const output = completed.outputJson == null ? undefined : JSON.parse(completed.outputJson);
    return invokeDoneEvent(invokeId, output);
  }
  if (type === FrameworkEvent.IncidentResolved) {
    const resolved = payload as unknown as IncidentResolvedPayload;
    const invokeId = book.inFlight.get(resolved.commandId)?.invokeId;
    if (!invokeId || resolved.resolution !== 'manual') return undefined;
    const output = resolved.outputJson == null ? undefined : JSON.parse(resolved.outputJson);
    return invokeDoneEvent(invokeId, output);
  }
  if (type === FrameworkEvent.CommandFailed) {
    const failed = payload as unknown as CommandFailedPayload;
    return invokeErrorEvent(failed.invokeId, failed.error);
  }
  return undefined;
}
