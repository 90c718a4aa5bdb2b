import { Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { esflowEnvironmentOf } from '@esflow/env-config';
import { createInboundMessageConsumer, InboundMessageConsumer } from '@esflow/kafka';
import { ESFLOW_RUNTIME, EsflowRuntime } from '@esflow/nest';

/** DI token of the inbound consumer: an {@link InboundMessageConsumer}, or null when not run. */
export const KAFKA_INBOUND = Symbol('KAFKA_INBOUND');

function inboundFor(
  configService: ConfigService,
  runtime: EsflowRuntime,
): InboundMessageConsumer | null {
  const config = esflowEnvironmentOf(configService);
  const logger = new Logger('KafkaInbound');
  if (runtime.inbound.length === 0 || !config.kafka) return null;
  if (!config.schemaRegistryUrl) {
    logger.warn(
      `the workflows map ${runtime.inbound.length} Kafka event types to messages, but SCHEMA_REGISTRY_URL is not set: their records cannot be decoded, so they are not consumed`,
    );
    return null;
  }
  return createInboundMessageConsumer({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-inbound`,
    groupId: config.kafka.inboundGroupId,
    registryUrl: config.schemaRegistryUrl,
    mappings: runtime.inbound,
    intake: runtime.messages,
    logger: {
      info: (message) => logger.log(message),
      warn: (message) => logger.warn(message),
      error: (message) => logger.error(message),
      debug: (message) => logger.debug(message),
    },
  });
}

/**
 * The inbound Kafka consumer of the projector process: the features' mappings (events on other
 * services' topics that become workflow messages), consumed in the `esflow-inbound` group when
 * KAFKA_BROKERS and SCHEMA_REGISTRY_URL are set; the projector runtime starts and stops it as one
 * of its processors, and `/health` reports it.
 */
@Module({
  providers: [
    { provide: KAFKA_INBOUND, inject: [ConfigService, ESFLOW_RUNTIME], useFactory: inboundFor },
  ],
  exports: [KAFKA_INBOUND],
})
export class KafkaInboundModule {}
