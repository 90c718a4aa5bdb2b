import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { EventStore, ProcessorStatus, ReadModelStore } from '@esflow/core';
import { SchemaRegistryMonitor } from '../runtime/schema-registry-monitor';
import { EVENT_STORE, READ_MODEL_STORE } from '../tokens';

/** How long one dependency may take to answer a readiness check before it counts as down. */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;

/** The processor states in which a Kafka processor cannot do its work (Kafka unreachable, fenced). */
const KAFKA_DOWN_STATES: ReadonlySet<string> = new Set(['retrying', 'stopped', 'fenced']);

function withinTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} did not answer within ${HEALTH_CHECK_TIMEOUT_MS} ms`)),
        HEALTH_CHECK_TIMEOUT_MS,
      );
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * esflow's @nestjs/terminus health indicators, for `/health/ready` (import
 * {@link EsflowHealthModule}): each checks one dependency and answers `up` or `down` with why
 * (never a payload), within {@link HEALTH_CHECK_TIMEOUT_MS}. Once the application begins to shut
 * down, {@link lifecycle} is down, so a load balancer stops sending requests first.
 */
@Injectable()
export class EsflowHealthIndicators implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private state: 'starting' | 'running' | 'shuttingDown' = 'starting';

  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    private readonly registry: SchemaRegistryMonitor,
  ) {}

  onApplicationBootstrap(): void {
    this.state = 'running';
  }

  beforeApplicationShutdown(): void {
    this.state = 'shuttingDown';
  }

  /** Up while the application runs; down before it has booted and once it shuts down. */
  lifecycle(key = 'lifecycle'): HealthIndicatorResult {
    const check = this.health.check(key);
    return this.state === 'running' ? check.up() : check.down({ state: this.state });
  }

  /** The event store answers a ping. */
  async eventStore(key = 'eventStore'): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    try {
      await withinTimeout(this.store.ping(), 'the event store');
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  /**
   * The schema registry, as checked against the writer schemas esflow keeps (reachable, holding
   * every kept id with the same schema); see {@link SchemaRegistryMonitor}.
   */
  async schemaRegistry(key = 'schemaRegistry'): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    const { status, reason, keptIds, missingIds, mismatchedIds } = await this.registry.status();
    const details = {
      keptIds,
      ...(missingIds.length > 0 ? { missingIds } : {}),
      ...(mismatchedIds.length > 0 ? { mismatchedIds } : {}),
    };
    return status === 'up'
      ? check.up(details)
      : check.down({ ...(reason ? { message: reason } : {}), ...details });
  }

  /** The read-model store answers a read of the projections' records. */
  async readModel(key = 'readModel'): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    try {
      await withinTimeout(this.readModels.records(), 'the read model');
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  /**
   * A Kafka processor of this process (the bridge, the inbound consumer) by its status: down
   * while it retries (Kafka unreachable), is stopped or fenced, or needs an operator.
   */
  kafkaProcessor(key: string, status: ProcessorStatus): HealthIndicatorResult {
    const check = this.health.check(key);
    const down = status.failing || KAFKA_DOWN_STATES.has(status.state);
    const details = {
      state: status.state,
      ...(status.lastError
        ? { message: status.lastError.message, code: status.lastError.code }
        : {}),
    };
    return down ? check.down(details) : check.up(details);
  }
}
