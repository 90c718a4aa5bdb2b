import { PayloadCodec } from '../codec/payload-codec.port';
import { AllStreamFilter, EventStore, RecordedEvent } from '../event-store/event-store.port';
import type { CommandOutcome, CommandReply } from '../engine/command-outcome.handler';
import type { WorkflowEngine } from '../engine/workflow-engine';
import { Result } from '../errors/rejection';
import { Clock } from '../ports/clock.port';
import { realSleepUnlessAborted } from '../ports/sleeper.port';
import { yieldToEventLoop } from '../processing/event-source';
import { LeasedFollower } from '../processing/leased-follower';
import { LeaseStore } from '../processing/lease';
import { Processor, ProcessorStatus } from '../processing/processor';
import { readEsflowMetadata } from '../workflow/event-metadata';
import {
  CommandCompletedPayload,
  CommandDispatchedPayload,
  CommandFailedPayload,
  CommandWithdrawnPayload,
  FRAMEWORK_NAMESPACE,
  FrameworkEvent,
  IncidentRaisedPayload,
  IncidentResolvedPayload,
} from '../workflow/framework-events';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import {
  afterFailedAttempt,
  commandRetryPolicyOf,
  CommandRetryPolicy,
  DEFAULT_COMMAND_RETRY,
} from './command-retry';
import { CommandChange, CommandQueue, CommandStatus, QueuedCommand } from './command-queue.port';

/** The facts the command queue is made of. */
export const COMMAND_EVENT_FILTER: AllStreamFilter = {
  eventTypes: [
    FrameworkEvent.CommandDispatched,
    FrameworkEvent.CommandCompleted,
    FrameworkEvent.CommandFailed,
    FrameworkEvent.CommandWithdrawn,
    FrameworkEvent.IncidentRaised,
    FrameworkEvent.IncidentResolved,
  ],
};

/**
 * The queue changes `events` make, in order: `CommandDispatched` queues a command (pending from
 * when it was recorded); `CommandCompleted`, `CommandFailed` and `CommandWithdrawn` settle it;
 * `IncidentRaised` marks its incident; `IncidentResolved` makes it pending again (a retry, from
 * when the operator decided) or settles it (a manual resolution).
 */
export async function commandChangesOf(
  events: readonly RecordedEvent[],
  decode: (schemaName: string, data: Uint8Array) => Promise<Record<string, unknown>>,
): Promise<CommandChange[]> {
  const changes: CommandChange[] = [];
  for (const event of events) {
    if (!(COMMAND_EVENT_FILTER.eventTypes ?? []).includes(event.type)) continue;
    const metadata = readEsflowMetadata(event.metadata);
    const payload = await decode(`${FRAMEWORK_NAMESPACE}.${event.type}`, event.data);
    switch (event.type) {
      case FrameworkEvent.CommandDispatched: {
        const dispatched = payload as unknown as CommandDispatchedPayload;
        const command: QueuedCommand = {
          commandId: dispatched.commandId,
          commandType: dispatched.commandType,
          workflow: metadata.workflow,
          instanceId: metadata.instanceId,
          payloadJson: dispatched.payloadJson,
          dispatchedAt: metadata.occurredAt,
          dispatchedRevision: event.revision,
          status: CommandStatus.Pending,
          attempts: 0,
          availableAt: metadata.occurredAt,
          leaseOwner: null,
          leaseUntil: null,
          lastError: null,
          incidentId: null,
        };
        changes.push({ kind: 'dispatched', command });
        break;
      }
      case FrameworkEvent.CommandCompleted:
        changes.push({
          kind: 'completed',
          commandId: (payload as unknown as CommandCompletedPayload).commandId,
        });
        break;
      case FrameworkEvent.CommandFailed: {
        const failed = payload as unknown as CommandFailedPayload;
        changes.push({ kind: 'failed', commandId: failed.commandId, error: failed.error });
        break;
      }
      case FrameworkEvent.CommandWithdrawn:
        changes.push({
          kind: 'withdrawn',
          commandId: (payload as unknown as CommandWithdrawnPayload).commandId,
        });
        break;
      case FrameworkEvent.IncidentRaised: {
        const raised = payload as unknown as IncidentRaisedPayload;
        changes.push({
          kind: 'incident',
          commandId: raised.commandId,
          incidentId: raised.incidentId,
          error: raised.error,
        });
        break;
      }
      case FrameworkEvent.IncidentResolved: {
        const resolved = payload as unknown as IncidentResolvedPayload;
        changes.push(
          resolved.resolution === 'retry'
            ? { kind: 'retried', commandId: resolved.commandId, availableAt: metadata.occurredAt }
            : { kind: 'resolved', commandId: resolved.commandId },
        );
        break;
      }
    }
  }
  return changes;
}

/** A dispatched command as an in-process handler receives it. */
export interface DispatchedCommand<TPayload = Record<string, unknown>> {
  /** Deterministic: the same on every attempt. Deduplicate the effect by it. */
  readonly commandId: string;
  readonly commandType: string;
  readonly workflow: string;
  readonly instanceId: string;
  /** The command's fields, as validated against its schema when it was dispatched. */
  readonly payload: TPayload;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** Aborted when the dispatcher stops or loses its lease: finish or give up soon. */
  readonly signal: AbortSignal;
}

/**
 * What a handler answers: an emitted command's reply event (`{ reply: { type, payload } }`, e.g.
 * RefundPayment → PaymentRefunded), an invoked actor's output (`{ output }`), or nothing.
 */
export type CommandResult = { readonly reply: CommandReply } | { readonly output: unknown } | void;

/**
 * Carries out one command type in process. Called at least once per command (again after a
 * failure, per the type's retry policy, and after a crash mid-command), always with the same
 * `commandId`: make its effect idempotent by it. A thrown error is a failed attempt; a
 * {@link PermanentCommandFailure} ends the retries at once.
 */
export interface CommandHandler<TPayload = Record<string, unknown>> {
  handle(command: DispatchedCommand<TPayload>): Promise<CommandResult>;
}

/** A failure that retrying cannot mend (a refused card, a rule broken): no further attempt. */
export class PermanentCommandFailure extends Error {
  override readonly name = 'PermanentCommandFailure';
}

/** What the dispatcher tells an observer (metrics). Observers are called synchronously. */
export interface CommandDispatcherObserver {
  indexed?(change: CommandChange): void;
  /** An in-process attempt ended: its outcome, and how long the handler took. */
  attempted?(
    command: QueuedCommand,
    outcome: 'completed' | 'retrying' | 'gaveUp',
    durationMs: number,
  ): void;
}

/** What {@link CommandDispatcher} runs on. */
export interface CommandDispatcherOptions {
  readonly store: EventStore;
  readonly codec: PayloadCodec;
  readonly queue: CommandQueue;
  readonly engine: Pick<WorkflowEngine, 'commands' | 'queries'>;
  /** The workflows, for each command type's retry policy. */
  readonly catalog: WorkflowCatalog;
  /** In-process handlers by command type; every other type waits for external workers. */
  readonly handlers: ReadonlyMap<string, CommandHandler>;
  readonly leases: LeaseStore;
  readonly owner: string;
  readonly clock: Clock;
  /** The dispatcher's own lease's time to live in ms (default 10 000). */
  readonly leaseTtlMs?: number;
  /** How long an in-process attempt holds its command (default 60 000 ms). */
  readonly handlerLeaseMs?: number;
  /** How many in-process attempts run at once (default 32). */
  readonly concurrency?: number;
  /** How long stopping waits for the attempts in flight (default 10 000 ms). */
  readonly shutdownGraceMs?: number;
  /** Longest wait between two looks at the queue when nothing is leasable (default 1 000 ms). */
  readonly pollMs?: number;
  readonly random?: () => number;
  readonly observer?: CommandDispatcherObserver;
  readonly onError?: (message: string, error: unknown) => void;
}

/**
 * The command dispatcher: a processor that follows the log's command facts into the
 * {@link CommandQueue} (checkpointed with it, so a crash re-runs only what was in flight) and
 * carries out the commands that have an in-process handler; the others wait in the queue for
 * external workers (leased over REST). An attempt leases its command first, so no two attempts
 * of one command run at once in any process; a failed attempt is retried after its type's
 * back-off (exponential, with jitter), and the last one is recorded through
 * {@link WorkflowEngine.commands}: an invoked actor's error reaches its `onError`, any other
 * failure raises an incident. A reply or output is recorded once: its fact's id derives from the
 * command id, so a repeated completion (after a crash between the handler and the append) is
 * recognised.
 *
 * At-least-once attempts, exactly-once recorded outcome: a handler may run more than once for a
 * command (a crash, a lost lease, a failed append after it succeeded) and must deduplicate its
 * effect by the command id; the instance sees its reply once.
 */
export class CommandDispatcher implements Processor {
  readonly name = 'commands';
  private readonly follower: LeasedFollower;
  private readonly running = new Set<Promise<void>>();
  private wake: (() => void) | undefined;

  constructor(private readonly options: CommandDispatcherOptions) {
    const { store, codec, queue } = options;
    this.follower = new LeasedFollower({
      name: this.name,
      kind: 'commandDispatcher',
      leaseName: 'esflow_command_dispatcher',
      store,
      leases: options.leases,
      owner: options.owner,
      clock: options.clock,
      filter: COMMAND_EVENT_FILTER,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      ...(options.onError ? { onError: options.onError } : {}),
      target: {
        checkpoint: () => queue.checkpoint(),
        apply: async (batch) => {
          const changes = await commandChangesOf(batch, (schema, data) =>
            codec.decode(schema, data),
          );
          await queue.apply(changes, batch[batch.length - 1]!.position);
          for (const change of changes) options.observer?.indexed?.(change);
          if (changes.some((change) => change.kind === 'dispatched' || change.kind === 'retried'))
            this.wake?.();
        },
      },
      work: (signal) => this.keepHandling(signal),
    });
  }

  start(): void {
    this.follower.start();
  }

  async stop(): Promise<void> {
    this.wake?.();
    await this.follower.stop();
  }

  status(): ProcessorStatus {
    return this.follower.status();
  }

  /** Leases what the in-process handlers can take, runs it, and waits for more. */
  private async keepHandling(signal: AbortSignal): Promise<void> {
    const commandTypes = [...this.options.handlers.keys()];
    if (commandTypes.length === 0) return;
    const concurrency = Math.max(1, this.options.concurrency ?? 32);
    // Freed slots are leased again in batches (half the slots at a time), not one lease write
    // per finished attempt; the poll and new dispatches still lease whatever is free.
    const refillAt = Math.max(1, Math.floor(concurrency / 2));
    while (!signal.aborted) {
      let leased: QueuedCommand[] = [];
      const free = concurrency - this.running.size;
      if (free > 0) {
        try {
          leased = await this.options.queue.lease({
            commandTypes,
            owner: this.options.owner,
            leaseMs: this.options.handlerLeaseMs ?? 60_000,
            max: free,
            now: this.options.clock.now(),
          });
        } catch (error) {
          this.follower.fault('command dispatcher: leasing commands failed', error);
        }
      }
      for (const command of leased) {
        const attempt = this.attempt(command, signal).finally(() => {
          this.running.delete(attempt);
          if (concurrency - this.running.size >= refillAt) this.wake?.();
        });
        this.running.add(attempt);
      }
      // More may be leasable at once when this round filled up; otherwise wait to be woken.
      if (leased.length > 0 && leased.length === free) continue;
      await this.waitFor(this.options.pollMs ?? 1_000, signal);
      // Let the attempts finishing in this turn free their slots before the next lease.
      await yieldToEventLoop();
    }
    // Attempts in flight finish, within a grace period: a handler that hangs must not hold the
    // shutdown; its command's lease runs out and another attempt takes it.
    const grace = new AbortController();
    await Promise.race([
      Promise.allSettled([...this.running]),
      realSleepUnlessAborted(this.options.shutdownGraceMs ?? 10_000, grace.signal),
    ]);
    grace.abort();
  }

  private async waitFor(ms: number, signal: AbortSignal): Promise<void> {
    const waited = new AbortController();
    const end = () => waited.abort();
    signal.addEventListener('abort', end, { once: true });
    this.wake = end;
    try {
      await realSleepUnlessAborted(ms, waited.signal);
    } finally {
      signal.removeEventListener('abort', end);
      if (this.wake === end) this.wake = undefined;
    }
  }

  /** One attempt of one leased command, and what it comes to. */
  private async attempt(command: QueuedCommand, signal: AbortSignal): Promise<void> {
    const { engine, observer } = this.options;
    const handler = this.options.handlers.get(command.commandType)!;
    const started = performance.now();
    let result: CommandResult;
    try {
      result = await handler.handle({
        commandId: command.commandId,
        commandType: command.commandType,
        workflow: command.workflow,
        instanceId: command.instanceId,
        payload: JSON.parse(command.payloadJson) as Record<string, unknown>,
        attempt: command.attempts,
        signal,
      });
    } catch (error) {
      const outcome = await this.failed(
        command,
        error,
        !(error instanceof PermanentCommandFailure),
      );
      observer?.attempted?.(command, outcome, performance.now() - started);
      return;
    }
    const durationMs = performance.now() - started;
    try {
      const recorded = await engine.commands.complete({
        workflow: command.workflow,
        id: command.instanceId,
        commandId: command.commandId,
        attempts: command.attempts,
        ...(result && 'reply' in result ? { reply: result.reply } : {}),
        ...(result && 'output' in result ? { output: result.output } : {}),
      });
      throwIfRejected(recorded, `completing ${command.commandType} ${command.commandId}`);
      observer?.attempted?.(command, 'completed', durationMs);
    } catch (error) {
      // The handler succeeded but its outcome is not recorded: the attempt counts as failed, and
      // the next one runs the handler again with the same command id.
      this.follower.fault(
        `command dispatcher: recording the completion of ${command.commandId} failed`,
        error,
      );
      observer?.attempted?.(command, await this.failed(command, error, true), durationMs);
    }
  }

  /** Gives a failed attempt back for a retry, or records the final failure. */
  private async failed(
    command: QueuedCommand,
    error: unknown,
    retryable: boolean,
  ): Promise<'retrying' | 'gaveUp'> {
    const { queue, engine, clock, catalog, owner } = this.options;
    const message = error instanceof Error ? error.message : String(error);
    const now = clock.now();
    const policy = await retryPolicyOfCommand(engine.queries, catalog, command).catch(
      () => DEFAULT_COMMAND_RETRY,
    );
    const next = afterFailedAttempt(
      policy,
      command.attempts,
      now,
      this.options.random ?? Math.random,
      retryable,
    );
    try {
      if ('retryAt' in next) {
        await queue.release(command.commandId, owner, next.retryAt, message);
        return 'retrying';
      }
      const recorded = await engine.commands.fail({
        workflow: command.workflow,
        id: command.instanceId,
        commandId: command.commandId,
        attempts: command.attempts,
        error: message,
      });
      throwIfRejected(recorded, `recording the failure of ${command.commandId}`);
      // Out of reach until the recorded fact settles it in the queue (an incident, an error
      // delivered), which comes within moments; should it never come, it is attempted again.
      await queue.release(command.commandId, owner, new Date(now.getTime() + PARKED_MS), message);
      return 'gaveUp';
    } catch (recordError) {
      // Nothing recorded: its lease runs out and the command is attempted again.
      this.follower.fault(
        `command dispatcher: settling the failed attempt of ${command.commandId} failed`,
        recordError,
      );
      return 'retrying';
    }
  }
}

/**
 * The retry policy of a queued command's type in the definition version its instance is pinned
 * to; the latest version's when the instance cannot be read, the default for a workflow no
 * longer registered. What the dispatcher and the workers' `fail` both decide by.
 */
export async function retryPolicyOfCommand(
  queries: Pick<WorkflowEngine['queries'], 'get'>,
  catalog: WorkflowCatalog,
  command: Pick<QueuedCommand, 'workflow' | 'instanceId' | 'commandType'>,
): Promise<CommandRetryPolicy> {
  const instance = await queries.get(command.workflow, command.instanceId);
  const definition =
    (instance.ok ? catalog.version(command.workflow, instance.value.version) : undefined) ??
    catalog.latest(command.workflow);
  return definition ? commandRetryPolicyOf(definition, command.commandType) : DEFAULT_COMMAND_RETRY;
}

/** How long a command whose final failure was recorded stays out of reach until it is indexed. */
const PARKED_MS = 24 * 60 * 60 * 1000;

function throwIfRejected(result: Result<CommandOutcome>, what: string): void {
  if (!result.ok) throw new Error(`${what}: ${result.rejection.code}: ${result.rejection.message}`);
}
