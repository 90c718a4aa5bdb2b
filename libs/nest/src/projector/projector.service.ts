import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import {
  CommandDispatcher,
  CommandDispatcherObserver,
  CommandQueue,
  EventStore,
  MessageCorrelationService,
  MessageStreams,
  PayloadCodec,
  Processor,
  ProcessorStatus,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionRunner,
  ReadModelStore,
  TimerIndex,
  TimerService,
  TimerServiceObserver,
  WorkflowCatalog,
} from '@esflow/core';
import { EsflowRuntime } from '../runtime/esflow-runtime';
import { ResolvedEsflowOptions } from '../esflow-module-options';
import { discoverCommandHandlers } from '../commands/command-handlers';
import {
  COMMAND_QUEUE,
  ESFLOW_OPTIONS,
  ESFLOW_RUNTIME,
  ESFLOW_TRACER,
  EVENT_STORE,
  PAYLOAD_CODEC,
  PROJECTIONS,
  READ_MODEL_STORE,
  TIMER_INDEX,
  WORKFLOW_CATALOG,
} from '../tokens';
import { configuredProjectionRunner, leaseOwner } from './projection-runner-factory';
import { EsflowTracer } from '../tracing/esflow-tracer';

/** DI token of the processors an application adds to the projector (beside its projections). */
export const PROJECTOR_PROCESSORS = Symbol('PROJECTOR_PROCESSORS');

/**
 * How often the projector reports its processors' statuses to the read model (where the api's
 * debugger UI reads them); a report older than three intervals is its owner gone silent.
 */
export const PROCESSOR_REPORT_INTERVAL_MS = 2000;

/** What this process knows of one projection: its record, or that it waits for the lease. */
export type ProjectionRunStatus = ProjectionRecord | { name: string; status: 'waitingForLease' };

/**
 * The projector runtime of this process: runs every registered projection (built-in and the
 * features', each under its own lease: a second process running the same projections waits, and
 * takes over when this one dies) and every processor the application adds (e.g. the Kafka
 * bridge), the timer service and the command dispatcher (with the in-process command handlers
 * the application's modules provide, see `EsflowCommandHandler`). All start when the application
 * boots and stop, finishing their work in flight, when it shuts down; {@link processorStatuses}
 * reports them all in one shape.
 */
@Injectable()
export class ProjectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Projector');
  private readonly runners: ProjectionRunner[];
  private readonly others: readonly Processor[];
  /** Fires the workflows' timers as they fall due (one process at a time, by its lease). */
  readonly timers: TimerService;
  private readonly timerObservers: TimerServiceObserver[] = [];
  /**
   * Carries out dispatched commands: in-process handlers here, external workers through the
   * queue. Made when the application boots, once every module's handlers exist.
   */
  private dispatcher: CommandDispatcher | undefined;
  private readonly commandObservers: CommandDispatcherObserver[] = [];
  /**
   * Follows messages and instances into the message index, and delivers buffered messages as
   * soon as an instance can take them (one process at a time, by its lease).
   */
  readonly messages: MessageCorrelationService;
  /** The lease owner name of this process. */
  readonly owner = leaseOwner('projector');
  private reporting: NodeJS.Timeout | undefined;
  private lastReport: Promise<void> = Promise.resolve();

  constructor(
    @Inject(PROJECTIONS) definitions: readonly ProjectionDefinition[],
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_STORE) private readonly readModel: ReadModelStore,
    @Inject(PAYLOAD_CODEC) private readonly codec: PayloadCodec,
    @Inject(WORKFLOW_CATALOG) catalog: WorkflowCatalog,
    @Inject(ESFLOW_OPTIONS) private readonly options: ResolvedEsflowOptions,
    @Inject(TIMER_INDEX) timerIndex: TimerIndex,
    @Inject(ESFLOW_RUNTIME) private readonly runtime: EsflowRuntime,
    @Inject(COMMAND_QUEUE) private readonly commandQueue: CommandQueue,
    private readonly discovery: DiscoveryService,
    @Optional() @Inject(PROJECTOR_PROCESSORS) processors?: readonly Processor[],
    @Optional() @Inject(ESFLOW_TRACER) tracer?: EsflowTracer | null,
  ) {
    this.runners = definitions.map((definition) =>
      configuredProjectionRunner({
        // Traced, each event that recorded a trace context is applied in a span of that trace.
        definition: tracer ? tracer.traceProjection(definition) : definition,
        store,
        readModel,
        codec,
        catalog,
        projections: options.projections,
        owner: this.owner,
        onError: (message, error) => this.logger.error({ err: error }, message),
      }),
    );
    this.timers = new TimerService({
      store,
      codec,
      index: timerIndex,
      engine: runtime.engine,
      leases: readModel,
      owner: this.owner,
      // The engine's own clock: a timer is due by the clock the engine refuses early fires by.
      clock: runtime.clock,
      leaseTtlMs: options.projections.leaseMs,
      observer: {
        indexed: (change) => this.timerObservers.forEach((o) => o.indexed?.(change)),
        fired: (timer, outcome, latenessMs) =>
          this.timerObservers.forEach((o) => o.fired?.(timer, outcome, latenessMs)),
        failed: (timer, error) => this.timerObservers.forEach((o) => o.failed?.(timer, error)),
      },
      onError: (message, error) => this.logger.error({ err: error }, message),
    });
    this.messages = new MessageCorrelationService({
      store,
      catalog,
      index: runtime.messageIndex,
      correlator: runtime.messages,
      streams: new MessageStreams(store, codec, runtime.ids),
      leases: readModel,
      owner: this.owner,
      clock: runtime.clock,
      leaseTtlMs: options.projections.leaseMs,
      onError: (message, error) => this.logger.error({ err: error }, message),
    });
    this.others = [this.timers, this.messages, ...(processors ?? [])];
  }

  onApplicationBootstrap(): void {
    const { store, readModel, codec } = this;
    this.dispatcher = new CommandDispatcher({
      store,
      codec,
      queue: this.commandQueue,
      engine: this.runtime.engine,
      catalog: this.runtime.catalog,
      handlers: discoverCommandHandlers(this.discovery, this.runtime.catalog),
      leases: readModel,
      owner: this.owner,
      clock: this.runtime.clock,
      leaseTtlMs: this.options.projections.leaseMs,
      observer: {
        indexed: (change) => this.commandObservers.forEach((o) => o.indexed?.(change)),
        attempted: (command, outcome, durationMs) =>
          this.commandObservers.forEach((o) => o.attempted?.(command, outcome, durationMs)),
      },
      onError: (message, error) => this.logger.error({ err: error }, message),
    });
    for (const processor of this.all()) processor.start();
    this.report();
    this.reporting = setInterval(() => this.report(), PROCESSOR_REPORT_INTERVAL_MS).unref();
    this.logger.log(
      `running ${this.all()
        .map((p) => p.name)
        .join(', ')} as ${this.owner}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.reporting);
    await Promise.all(this.all().map((processor) => processor.stop()));
    // The last word: every processor stopped, so no reader takes a dead process for a live one.
    this.report();
    await this.lastReport;
  }

  /**
   * Publishes {@link processorStatuses} to the read model for the other processes (the api's
   * debugger UI); one report at a time, a failed one only logged (the next one will try again).
   */
  private report(): void {
    const processors = this.processorStatuses();
    this.lastReport = this.lastReport
      .then(() =>
        this.readModel.reportProcessors({
          owner: this.owner,
          reportedAt: new Date().toISOString(),
          processors,
        }),
      )
      .catch((error: unknown) =>
        this.logger.warn(`reporting the processors failed: ${(error as Error).message}`),
      );
  }

  /**
   * Tells `observer` of every change the timer service indexes and every timer it fires (e.g.
   * for metrics). Observers are called synchronously and must not throw.
   */
  observeTimers(observer: TimerServiceObserver): void {
    this.timerObservers.push(observer);
  }

  /**
   * Tells `observer` of every change the command dispatcher indexes and every in-process attempt
   * (e.g. for metrics). Observers are called synchronously and must not throw.
   */
  observeCommands(observer: CommandDispatcherObserver): void {
    this.commandObservers.push(observer);
  }

  /** Each projection as this process last knew it. */
  statuses(): ProjectionRunStatus[] {
    return this.runners.map(
      (runner) => runner.current() ?? { name: runner.name, status: 'waitingForLease' as const },
    );
  }

  /** Every processor of this process (projections first), in the one status shape. */
  processorStatuses(): ProcessorStatus[] {
    return this.all().map((processor) => processor.status());
  }

  private all(): readonly Processor[] {
    return [...this.runners, ...this.others, ...(this.dispatcher ? [this.dispatcher] : [])];
  }
}
