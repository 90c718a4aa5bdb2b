import {
  Controller,
  Get,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EventStore, WorkflowCatalog } from '@esflow/core';
import { esflowEnvironmentOf } from '@esflow/env-config';
import { EVENT_STORE, WORKFLOW_CATALOG } from '@esflow/nest';
import {
  createKafkaBridge,
  disabledBridgeStatus,
  KafkaBridge,
  KafkaBridgeStatus,
} from '@esflow/kafka';

/** DI token of the bridge: a {@link KafkaBridge}, or null when Kafka is not configured. */
export const KAFKA_BRIDGE = Symbol('KAFKA_BRIDGE');

function bridgeFor(
  configService: ConfigService,
  store: EventStore,
  catalog: WorkflowCatalog,
): KafkaBridge | null {
  const config = esflowEnvironmentOf(configService);
  if (!config.kafka) return null;
  const logger = new Logger('KafkaBridge');
  return createKafkaBridge({
    store,
    workflows: catalog.names(),
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    transactionalId: config.kafka.transactionalId,
    topicTemplate: config.kafka.topicTemplate,
    topicPartitions: config.kafka.topicPartitions,
    logger: {
      info: (message) => logger.log(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
      debug: (message) => logger.debug(message),
    },
  });
}

/** Starts the bridge with the projector and stops it (finishing its transaction) on shutdown. */
@Injectable()
class KafkaBridgeLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(KAFKA_BRIDGE) private readonly bridge: KafkaBridge | null) {}

  onApplicationBootstrap(): void {
    this.bridge?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bridge?.stop();
  }
}

@Controller('kafka-bridge')
class KafkaBridgeController {
  constructor(@Inject(KAFKA_BRIDGE) private readonly bridge: KafkaBridge | null) {}

  /** `{ status, position, lag: { events, seconds }, lastError?, publishedEvents, ... }` */
  @Get()
  status(): KafkaBridgeStatus {
    return this.bridge?.status() ?? disabledBridgeStatus();
  }
}

/**
 * The Kafka bridge in the projector process (never in the api's request path): runs only when
 * KAFKA_BROKERS is set; `GET /kafka-bridge` reports its status either way.
 */
@Module({
  controllers: [KafkaBridgeController],
  providers: [
    {
      provide: KAFKA_BRIDGE,
      inject: [ConfigService, EVENT_STORE, WORKFLOW_CATALOG],
      useFactory: bridgeFor,
    },
    KafkaBridgeLifecycle,
  ],
  exports: [KAFKA_BRIDGE],
})
export class KafkaBridgeModule {}
