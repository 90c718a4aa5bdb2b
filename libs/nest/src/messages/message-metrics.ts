import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MESSAGE_STATUSES, MessageCorrelator, MessageIndex } from '@esflow/core';

/**
 * Registers the message metrics on `registry`, for the process whose correlator it observes (the
 * api for `POST /messages` and the operators, the projector for the correlation service and the
 * inbound consumer):
 * - `esflow_messages_total{outcome, reason, trigger}`: every outcome recorded (delivered,
 *   started, buffered, duplicate, late, quarantined by reason, discarded), by what started the
 *   attempt (`received` counts the messages received);
 * - `esflow_message_correlation_duration_seconds{trigger}`;
 * - `esflow_messages{status}` and `esflow_messages_oldest_buffered_age_seconds`, from the index.
 * Labels are bounded: outcomes, reason codes and triggers, never ids or keys.
 */
export function registerMessageMetrics(
  registry: Registry,
  source: { readonly correlator: MessageCorrelator; readonly index: MessageIndex },
): void {
  const registers = [registry];
  const outcomes = new Counter({
    name: 'esflow_messages_total',
    help: 'Message outcomes recorded: delivered, started, buffered, duplicate, late, quarantined (by reason), discarded; by what started the attempt (received, instanceChanged, recheck, expired, retry)',
    labelNames: ['outcome', 'reason', 'trigger'],
    registers,
  });
  const duration = new Histogram({
    name: 'esflow_message_correlation_duration_seconds',
    help: 'How long correlating a message took, from its receipt (or its retry) to its durable outcome',
    labelNames: ['trigger'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  source.correlator.observe((outcome, trigger, ms) => {
    outcomes.inc({ outcome: outcome.outcome, reason: outcome.reason ?? 'none', trigger });
    duration.observe({ trigger }, ms / 1000);
  });
  const { index } = source;
  new Gauge({
    name: 'esflow_messages',
    help: 'Messages in the message index by status: buffered, delivered, started, duplicate, late, quarantined, discarded',
    labelNames: ['status'],
    registers,
    async collect() {
      const counts = await index.counts();
      for (const status of MESSAGE_STATUSES) this.set({ status }, counts[status]);
    },
  });
  new Gauge({
    name: 'esflow_messages_oldest_buffered_age_seconds',
    help: 'How long the oldest buffered message has waited (0 when none waits)',
    registers,
    async collect() {
      const oldest = await index.oldestBuffered();
      this.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
    },
  });
}
