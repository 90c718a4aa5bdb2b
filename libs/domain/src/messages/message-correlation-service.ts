import {
  AllStreamFilter,
  EventStore,
  GlobalPosition,
  RecordedEvent,
} from '../event-store/event-store.port';
import { Clock } from '../ports/clock.port';
import { realSleepUnlessAborted } from '../ports/sleeper.port';
import { LeasedFollower } from '../processing/leased-follower';
import { LeaseStore } from '../processing/lease';
import { Processor, ProcessorStatus } from '../processing/processor';
import { readEsflowMetadata } from '../workflow/event-metadata';
import { WorkflowCatalog } from '../workflow/workflow-catalog';
import { MessageCorrelator } from './message-correlator';
import { MessageIndex, MessageIndexChange, MessageStatus } from './message-index.port';
import {
  correlatedFrom,
  MESSAGE_STREAM_PREFIX,
  MessageDiscardedPayload,
  MessageEvent,
  MessageReceivedPayload,
  MessageStreams,
} from './message-stream';

/**
 * The log a message index is made of: every message stream, and the instance streams of the
 * workflows that declare messages or correlation keys.
 */
export function messageEventFilter(catalog: WorkflowCatalog): AllStreamFilter {
  const workflows = new Set(
    catalog
      .all()
      .filter(
        (d) => Object.keys(d.messages).length > 0 || Object.keys(d.correlationKeys).length > 0,
      )
      .map((d) => d.name),
  );
  return {
    streamNamePrefixes: [MESSAGE_STREAM_PREFIX, ...[...workflows].map((name) => `${name}-`)],
  };
}

/** What the events of one batch change in the index, and what they ask to be correlated again. */
export interface MessageIndexUpdate {
  readonly changes: MessageIndexChange[];
  /** Messages that became buffered: correlated once more (an instance may have got there first). */
  readonly buffered: Set<string>;
  /** Instances that moved: their buffered messages are correlated again. */
  readonly instances: Map<string, { readonly workflow: string; readonly instanceId: string }>;
}

/**
 * The index changes `events` make, in order: a message stream's `MessageReceived` records the
 * message (buffered until its first attempt says otherwise), each `MessageCorrelated` its outcome,
 * `MessageDiscarded` the discard; an instance event with correlation keys records them, and one
 * a message became (delivered or started) records that message.
 */
export async function messageIndexUpdateOf(
  events: readonly RecordedEvent[],
  streams: MessageStreams,
  catalog: WorkflowCatalog,
): Promise<MessageIndexUpdate> {
  const update: MessageIndexUpdate = { changes: [], buffered: new Set(), instances: new Map() };
  for (const event of events) {
    if (event.streamName.startsWith(MESSAGE_STREAM_PREFIX)) {
      const messageId = event.streamName.slice(MESSAGE_STREAM_PREFIX.length);
      const payload = await streams.decode(event);
      if (event.type === MessageEvent.Received) {
        const received = payload as unknown as MessageReceivedPayload;
        const source = JSON.parse(received.sourceJson) as { kind: string };
        update.changes.push({
          kind: 'recorded',
          message: {
            messageId,
            name: received.name,
            workflow: received.workflow,
            keyName: received.keyName,
            correlationKey: received.correlationKey,
            status: MessageStatus.Buffered,
            reason: null,
            detail: null,
            instanceId: null,
            revision: null,
            source: source.kind,
            receivedAt: received.receivedAt,
            expiresAt: null,
            updatedAt: received.receivedAt,
            attempts: 0,
          },
        });
      } else if (event.type === MessageEvent.Correlated) {
        const attempt = correlatedFrom(payload);
        update.changes.push({
          kind: 'outcome',
          messageId,
          status: attempt.outcome,
          reason: attempt.reason,
          detail: attempt.detail,
          instanceId: attempt.instanceId,
          revision: attempt.revision,
          expiresAt: attempt.expiresAt,
          at: attempt.at,
        });
        if (attempt.outcome === MessageStatus.Buffered) update.buffered.add(messageId);
        else update.buffered.delete(messageId);
      } else if (event.type === MessageEvent.Discarded) {
        const discarded = payload as unknown as MessageDiscardedPayload;
        update.changes.push({
          kind: 'outcome',
          messageId,
          status: MessageStatus.Discarded,
          reason: null,
          detail: discarded.reason,
          instanceId: null,
          revision: null,
          expiresAt: null,
          at: discarded.at,
        });
        update.buffered.delete(messageId);
      }
      continue;
    }
    const metadata = readEsflowMetadata(event.metadata);
    if (metadata.category !== 'workflow' && !isCause(event.type)) continue;
    const { workflow, instanceId } = metadata;
    if (metadata.correlationKeys)
      update.changes.push({
        kind: 'instanceKeys',
        workflow,
        instanceId,
        keys: metadata.correlationKeys,
      });
    const message = metadata.message;
    if (message) {
      const definition = catalog.latest(workflow)?.messages[message.name];
      update.changes.push({
        kind: 'recorded',
        message: {
          messageId: message.id,
          name: message.name,
          workflow,
          keyName: definition?.correlateBy ?? '',
          correlationKey: message.correlationKey,
          status: event.revision === 0 ? MessageStatus.Started : MessageStatus.Delivered,
          reason: null,
          detail: null,
          instanceId,
          revision: message.revisionAfter,
          source: message.source ?? 'rest',
          receivedAt: metadata.occurredAt,
          expiresAt: null,
          updatedAt: metadata.occurredAt,
          attempts: 1,
        },
      });
    }
    update.instances.set(`${workflow}-${instanceId}`, { workflow, instanceId });
  }
  return update;
}

/** Framework facts that move an instance (the causes of a transition), besides workflow events. */
const isCause = (type: string) =>
  type === 'TimerFired' || type === 'CommandCompleted' || type === 'CommandFailed';

/**
 * A batch that changes nothing in the index still moves its checkpoint, but only every this
 * many batches: a restart then re-reads at most so many batches that change nothing.
 */
const CHECKPOINT_EVERY_BATCHES = 20;

/** What {@link MessageCorrelationService} runs on. */
export interface MessageCorrelationServiceOptions {
  readonly store: EventStore;
  readonly catalog: WorkflowCatalog;
  readonly index: MessageIndex;
  readonly correlator: MessageCorrelator;
  readonly streams: MessageStreams;
  readonly leases: LeaseStore;
  readonly owner: string;
  readonly clock: Clock;
  readonly leaseTtlMs?: number;
  /** How often expired buffered messages are looked for, in ms (default 1 000). */
  readonly expiryCheckMs?: number;
  /** How many instances are correlated again at once (default 16). */
  readonly concurrency?: number;
  readonly onError?: (message: string, error: unknown) => void;
}

/**
 * The message correlation service: a processor that follows the message streams and the
 * instances of workflows with messages into the {@link MessageIndex} (checkpointed with it), and
 * delivers buffered messages as soon as an instance can take them: when an instance moves (by an
 * event, a timer or a command's reply), its buffered messages are correlated again, in arrival
 * order; a newly buffered message is correlated once more (an instance may have got there between
 * the sender's correlation and the buffering); one whose time-to-live ran out is quarantined
 * `NO_MATCHING_INSTANCE`. It holds a lease, so one process does this at a time; what it
 * correlates again is recorded only when the outcome changes. After a restart it looks at every
 * buffered message once, so a correlation the previous owner had not got to is not lost.
 */
export class MessageCorrelationService implements Processor {
  readonly name = 'messages';
  private readonly follower: LeasedFollower;
  private readonly pendingMessages = new Set<string>();
  private readonly pendingInstances = new Map<string, { workflow: string; instanceId: string }>();
  private wake: (() => void) | undefined;
  /** Batches applied since the checkpoint was last written. */
  private unchangedBatches = 0;
  /** The position of the last batch applied, while its checkpoint is not written yet. */
  private unwritten: GlobalPosition | undefined;
  /** The index's writes, one at a time in order, so a checkpoint never goes back. */
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly options: MessageCorrelationServiceOptions) {
    const { store, index, catalog, streams } = options;
    this.follower = new LeasedFollower({
      name: this.name,
      kind: 'messageCorrelation',
      leaseName: 'esflow_message_correlation',
      store,
      leases: options.leases,
      owner: options.owner,
      clock: options.clock,
      filter: messageEventFilter(catalog),
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      ...(options.onError ? { onError: options.onError } : {}),
      target: {
        checkpoint: () => index.checkpoint(),
        apply: async (batch) => {
          const update = await messageIndexUpdateOf(batch, streams, catalog);
          // Most batches change nothing (instances moving, no message among them): their
          // checkpoint is written every so often only, not a write transaction each.
          const position = batch[batch.length - 1]!.position;
          if (update.changes.length > 0 || ++this.unchangedBatches >= CHECKPOINT_EVERY_BATCHES) {
            this.unwritten = undefined;
            this.unchangedBatches = 0;
            await this.written(() => index.apply(update.changes, position));
          } else this.unwritten = position;
          for (const id of update.buffered) this.pendingMessages.add(id);
          for (const [key, instance] of update.instances) this.pendingInstances.set(key, instance);
          this.wake?.();
        },
      },
      work: (signal) => this.keepCorrelating(signal),
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

  private async keepCorrelating(signal: AbortSignal): Promise<void> {
    await this.guard('looking at the buffered messages after a start', signal, () =>
      this.sweep(signal),
    );
    const expiryCheckMs = this.options.expiryCheckMs ?? 1_000;
    while (!signal.aborted) {
      await this.guard('correlating again', signal, () => this.drain(signal));
      // One indexed query: cheap enough to make on every round, however busy.
      await this.guard('quarantining expired messages', signal, () => this.expire(signal));
      if (this.pendingInstances.size > 0 || this.pendingMessages.size > 0) continue;
      // Idle: the checkpoint catches up with what was applied (lag reads 0 when all is done).
      await this.guard('writing the checkpoint', signal, () => this.flushCheckpoint());
      await this.waitFor(expiryCheckMs, signal);
    }
  }

  private async sweep(signal: AbortSignal): Promise<void> {
    let after: string | undefined;
    do {
      const page = await this.options.index.list({
        status: MessageStatus.Buffered,
        limit: 500,
        ...(after ? { after } : {}),
      });
      for (const message of page.messages) this.pendingMessages.add(message.messageId);
      after = page.next;
    } while (after && !signal.aborted);
  }

  private async drain(signal: AbortSignal): Promise<void> {
    const messages = [...this.pendingMessages];
    this.pendingMessages.clear();
    const instances = [...this.pendingInstances.values()];
    this.pendingInstances.clear();
    await this.inParallel(messages, signal, (id) => this.again(id, 'recheck'));
    // Nothing waits at all (the common case under load): no instance needs a look.
    if (instances.length === 0 || !(await this.anyBuffered())) return;
    await this.inParallel(instances, signal, async ({ workflow, instanceId }) => {
      const buffered = await this.options.index.bufferedFor(workflow, instanceId, 100);
      for (const message of buffered) {
        if (signal.aborted) return;
        await this.again(message.messageId, 'instanceChanged');
      }
    });
  }

  private written(write: () => Promise<void>): Promise<void> {
    const next = this.writes.then(write);
    this.writes = next.catch(() => undefined);
    return next;
  }

  private flushCheckpoint(): Promise<void> {
    return this.written(async () => {
      const position = this.unwritten;
      if (!position) return;
      this.unwritten = undefined;
      await this.options.index.apply([], position);
    });
  }

  private async anyBuffered(): Promise<boolean> {
    const page = await this.options.index.list({ status: MessageStatus.Buffered, limit: 1 });
    return page.messages.length > 0;
  }

  private async expire(signal: AbortSignal): Promise<void> {
    const expired = await this.options.index.expired(this.options.clock.now(), 500);
    await this.inParallel(expired, signal, (message) => this.again(message.messageId, 'expired'));
  }

  private async again(
    messageId: string,
    trigger: 'recheck' | 'instanceChanged' | 'expired',
  ): Promise<void> {
    try {
      await this.options.correlator.correlateAgain(messageId, trigger);
    } catch (error) {
      // Tried again on the next round: the message is still buffered in its stream.
      this.pendingMessages.add(messageId);
      throw error;
    }
  }

  private async inParallel<T>(
    items: readonly T[],
    signal: AbortSignal,
    work: (item: T) => Promise<void>,
  ): Promise<void> {
    let next = 0;
    const failures: unknown[] = [];
    const worker = async () => {
      while (next < items.length && !signal.aborted)
        await work(items[next++]!).catch((error: unknown) => failures.push(error));
    };
    const concurrency = Math.max(1, this.options.concurrency ?? 16);
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    if (failures.length > 0) throw failures[0];
  }

  private async guard(what: string, signal: AbortSignal, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.follower.fault(`message correlation: ${what} failed`, error);
      await realSleepUnlessAborted(500, signal);
    }
  }

  private async waitFor(ms: number, signal: AbortSignal): Promise<void> {
    const waited = new AbortController();
    const end = () => waited.abort();
    signal.addEventListener('abort', end, { once: true });
    this.wake = end;
    try {
      await realSleepUnlessAborted(ms, waited.signal);
    } finally {
      end();
      signal.removeEventListener('abort', end);
      if (this.wake === end) this.wake = undefined;
    }
  }
}
