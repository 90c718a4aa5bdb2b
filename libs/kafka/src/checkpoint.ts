import { formatPosition, GlobalPosition, parsePosition } from '@esflow/core';
import { KafkaBridgeError, KafkaErrorCode } from './kafka-errors';

/**
 * What the bridge commits with every batch, in the same Kafka transaction: the store position
 * of the batch's last event. After a crash the bridge resumes strictly after it.
 */
export interface BridgeCheckpoint {
  /** Global position of the last event published (exclusive resume point). */
  readonly position: GlobalPosition;
  /** Event id at that position (for operators; the position alone decides). */
  readonly eventId: string;
  /** Events published under this transactional id since its first checkpoint. */
  readonly published: number;
  /** When the transaction was built (ISO 8601). */
  readonly writtenAt: string;
}

/** Version 1 of the checkpoint record's JSON value. */
const CHECKPOINT_FORMAT = 1;

/** The checkpoint record's value: UTF-8 JSON `{ v: 1, position: "commit/prepare", ... }`. */
export function encodeCheckpoint(checkpoint: BridgeCheckpoint): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: CHECKPOINT_FORMAT,
      position: formatPosition(checkpoint.position),
      eventId: checkpoint.eventId,
      published: checkpoint.published,
      writtenAt: checkpoint.writtenAt,
    }),
    'utf8',
  );
}

const invalid = (reason: string, cause?: unknown) =>
  new KafkaBridgeError(
    KafkaErrorCode.CheckpointInvalid,
    `the bridge checkpoint cannot be read: ${reason}`,
    { retriable: false, ...(cause === undefined ? {} : { cause }) },
  );

/** Reads a checkpoint record's value; a value this version cannot read is a CHECKPOINT_INVALID error. */
export function decodeCheckpoint(value: Uint8Array): BridgeCheckpoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString());
  } catch (error) {
    throw invalid('the value is not JSON', error);
  }
  if (!parsed || typeof parsed !== 'object') throw invalid('the value is not a JSON object');
  const record = parsed as Record<string, unknown>;
  if (record['v'] !== CHECKPOINT_FORMAT)
    throw invalid(`format ${JSON.stringify(record['v'])} is not ${CHECKPOINT_FORMAT}`);
  const { position, eventId, published, writtenAt } = record;
  if (typeof position !== 'string') throw invalid('position is missing');
  let parsedPosition: GlobalPosition;
  try {
    parsedPosition = parsePosition(position);
  } catch (error) {
    throw invalid(`position ${JSON.stringify(position)} is not commit/prepare`, error);
  }
  if (typeof published !== 'number' || !Number.isSafeInteger(published) || published < 0)
    throw invalid('published is not a count');
  return {
    position: parsedPosition,
    eventId: typeof eventId === 'string' ? eventId : '',
    published,
    writtenAt: typeof writtenAt === 'string' ? writtenAt : '',
  };
}

/**
 * The default checkpoint topic of a transactional id: one compacted, single-partition topic
 * per bridge deployment. Not shared on purpose: a read_committed reader sees a partition only
 * up to its last stable offset, so another deployment's open transaction in a shared topic
 * could hide this bridge's newest checkpoint at start-up.
 */
export function checkpointTopicFor(transactionalId: string): string {
  const safe = transactionalId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  return `esflow-bridge-checkpoints.${safe}`;
}
