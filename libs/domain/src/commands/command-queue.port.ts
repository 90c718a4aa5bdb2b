import { GlobalPosition } from '../event-store/event-store.port';

/**
 * Where a dispatched command is in its life:
 * - `pending`: waiting to be leased (at or after `availableAt`);
 * - `leased`: a worker holds it until `leaseUntil`; an expired lease makes it `pending` again:
 *   `lease` takes it as it takes a pending command, though it reads `leased` (with its past
 *   `leaseUntil`) until then, as the queue keeps no clock of its own;
 * - `completed`: its completion (with or without a reply) is recorded in the instance's stream;
 * - `incident`: it failed for good (its last retry, or a worker said it cannot succeed); an
 *   operator retries it (back to `pending`) or resolves it by hand (`resolved`);
 * - `resolved`: an operator recorded a manual resolution of its incident;
 * - `failed`: it failed for good and its error was delivered to the machine (an invoked actor's
 *   `onError`), recorded as `CommandFailed`;
 * - `withdrawn`: the instance no longer wants it (the state that invoked it was left first),
 *   recorded as `CommandWithdrawn`; a worker still holding it may finish, and is told so.
 */
export const CommandStatus = {
  Pending: 'pending',
  Leased: 'leased',
  Completed: 'completed',
  Incident: 'incident',
  Resolved: 'resolved',
  Failed: 'failed',
  Withdrawn: 'withdrawn',
} as const;
export type CommandStatus = (typeof CommandStatus)[keyof typeof CommandStatus];

/** Every {@link CommandStatus}, e.g. to check a query parameter. */
export const COMMAND_STATUSES: readonly CommandStatus[] = Object.values(CommandStatus);

/** One dispatched command as the command queue knows it. Times are ISO-8601 strings in UTC. */
export interface QueuedCommand {
  /** Deterministic (derived from the event that dispatched it): receivers deduplicate by it. */
  readonly commandId: string;
  readonly commandType: string;
  readonly workflow: string;
  readonly instanceId: string;
  /** The command's fields as JSON, validated against the command's schema when dispatched. */
  readonly payloadJson: string;
  /** When its `CommandDispatched` fact was recorded, and at which revision. */
  readonly dispatchedAt: string;
  readonly dispatchedRevision: number;
  readonly status: CommandStatus;
  /**
   * How many times it was leased (attempts started) since it was dispatched or last retried;
   * `release` leaves it as it is.
   */
  readonly attempts: number;
  /** Pending: not leased before this instant (a retry's back-off); kept as it is otherwise. */
  readonly availableAt: string;
  /**
   * Leased: by whom, and until when (the lease is held while `now` is before `leaseUntil`); null
   * in every other status.
   */
  readonly leaseOwner: string | null;
  readonly leaseUntil: string | null;
  /** The error of the last failed attempt (a release or an incident); kept until the next one. */
  readonly lastError: string | null;
  /**
   * Its last incident's id (as the instance's `IncidentRaised` names it), null before the first:
   * the open one while `incident`, and kept once it is closed (retried, resolved or completed),
   * so that the incident's command is found by it (`CommandQuery.incidentId`) until the next
   * incident replaces it.
   */
  readonly incidentId: string | null;
}

/** A change to the queue derived from one recorded fact (applied by the dispatcher). */
export type CommandChange =
  | { readonly kind: 'dispatched'; readonly command: QueuedCommand }
  | { readonly kind: 'completed'; readonly commandId: string }
  | { readonly kind: 'failed'; readonly commandId: string; readonly error: string }
  | { readonly kind: 'withdrawn'; readonly commandId: string }
  | {
      readonly kind: 'incident';
      readonly commandId: string;
      readonly incidentId: string;
      readonly error: string;
    }
  | { readonly kind: 'retried'; readonly commandId: string; readonly availableAt: string }
  | { readonly kind: 'resolved'; readonly commandId: string };

/** What {@link CommandQueue.lease} takes. */
export interface LeaseRequest {
  /** Only commands of these types. */
  readonly commandTypes: readonly string[];
  /** The worker taking them; only it may complete or fail them while the lease lasts. */
  readonly owner: string;
  readonly leaseMs: number;
  /** At most this many. */
  readonly max: number;
  /** The time by which availability and lease expiry are judged. */
  readonly now: Date;
}

/** What {@link CommandQueue.list} selects; every field narrows the result. */
export interface CommandQuery {
  readonly status?: CommandStatus;
  readonly commandType?: string;
  readonly workflow?: string;
  readonly instanceId?: string;
  /**
   * Only the command whose `incidentId` is this: the command of that incident, open or closed
   * (retried, resolved, completed), unless a later incident of the command replaced it.
   */
  readonly incidentId?: string;
  /** The `next` of the previous page. */
  readonly after?: string;
  readonly limit: number;
}

/**
 * A page of {@link CommandQueue.list}, in dispatch order: by `dispatchedAt` as an instant, then
 * by `dispatchedRevision`, then by `commandId` in UTF-8 byte order.
 */
export interface CommandPage {
  readonly commands: readonly QueuedCommand[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

/**
 * The queue of dispatched commands the dispatcher keeps beside the read model: filled from the
 * log (`CommandDispatched`, and the facts that settle a command), leased by workers (in-process
 * handlers and external ones over REST), each lease with a timeout. The log stays the source of
 * truth: the queue can be cleared and rebuilt from it.
 */
export interface CommandQueue {
  /**
   * Applies `changes` in order and records `checkpoint`, atomically: after a crash either all of
   * them and the checkpoint are there, or none. `dispatched` for a command already queued leaves
   * it as it is; `completed`, `resolved`, `failed` and `withdrawn` settle it whatever its state (a
   * settled one too: the later fact wins; its lease, if any, ends; `failed` keeps its error as
   * the last error); `incident` marks a command that is not settled
   * (pending, leased, or an incident already, whose id and error it then replaces), ending its
   * lease; `retried` makes an incident pending again at `availableAt` (attempts start again from
   * 0; its incident id is kept) and leaves a command in any other status as it is. A change for an unknown command is
   * ignored. A change that cannot be stored (a time that is not an ISO-8601 instant with its
   * zone, an unknown status) fails the whole call with an INTERNAL error, changing nothing.
   */
  apply(changes: readonly CommandChange[], checkpoint: GlobalPosition): Promise<void>;
  /** The position of the last event applied, undefined before the first. */
  checkpoint(): Promise<GlobalPosition | undefined>;
  /**
   * Leases up to `max` commands of the given types that are `pending` and available at `now`
   * (`availableAt` at or before it), or `leased` with an expired lease (`leaseUntil` at or before
   * it), oldest dispatch first (the order of {@link CommandPage}); atomically, so two workers never
   * hold one command at once, in one process or several. An unexpired lease is never taken
   * again, not even by its own owner. Each leased command becomes `leased` by `owner` until
   * `now + leaseMs`, and its `attempts` goes up by one; it is returned as it now is.
   */
  lease(request: LeaseRequest): Promise<QueuedCommand[]>;
  /**
   * Gives a leased command back after a failed attempt: `pending` again at `availableAt`, with
   * `error` as its last error, its lease ended and its attempts as they are. False (and nothing
   * changed) unless `owner` holds its lease: it is `leased`, and by `owner`. Expiry is not judged
   * here (there is no `now`): an owner whose lease expired may still give the command back until
   * another worker leases it (as a Camunda external task's lock owner may report its failure).
   */
  release(commandId: string, owner: string, availableAt: Date, error: string): Promise<boolean>;
  /**
   * Whether `owner` holds an unexpired lease on the command at `now`: it is `leased` by `owner`
   * and `now` is before its `leaseUntil`. False for an unknown command.
   */
  holds(commandId: string, owner: string, now: Date): Promise<boolean>;
  /** The command as it is now, undefined for an unknown id. */
  get(commandId: string): Promise<QueuedCommand | undefined>;
  /**
   * Commands in dispatch order, filtered by `query`, one page at a time (`limit` of 1 or more);
   * an `after` that is not a `next` of a command queue is rejected as MALFORMED_REQUEST.
   */
  list(query: CommandQuery): Promise<CommandPage>;
  /** How many commands there are in each status. */
  counts(): Promise<Record<CommandStatus, number>>;
  /** Removes every command and the checkpoint: the queue is then rebuilt from the log. */
  clear(): Promise<void>;
  /** Releases what the queue holds (connections). */
  close?(): Promise<void>;
}
