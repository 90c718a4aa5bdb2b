import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { COMMAND_STATUSES } from '@esflow/core';
import {
  InFlightCommandResponse,
  IncidentResponse,
  WrittenInstanceResponse,
} from '../workflows/workflow.dto';
import {
  COMMAND_TYPE_PATTERN,
  LEASE_DEFAULTS,
  LEASE_LIMITS,
  MAX_ERROR_LENGTH,
  WORKER_ID_PATTERN,
} from './command-requests';

/** OpenAPI shapes of the external-worker calls; the checks themselves are in command-requests. */

const WORKER_ID = {
  description:
    'Who is asking: 1–200 visible ASCII characters, stable for one worker process (its lease is held in this name)',
  pattern: WORKER_ID_PATTERN,
  example: 'kyc-worker-1',
};

/** `POST /commands/lease`. */
export class LeaseCommandsBody {
  @ApiProperty(WORKER_ID) workerId!: string;
  @ApiProperty({
    type: [String],
    minItems: 1,
    maxItems: LEASE_LIMITS.commandTypes,
    description:
      'The command types this worker carries out (PascalCase, as the workflows name them)',
    items: { type: 'string', pattern: COMMAND_TYPE_PATTERN },
    example: ['RunKycCheck'],
  })
  commandTypes!: string[];
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: LEASE_LIMITS.max,
    default: LEASE_DEFAULTS.max,
    description: 'At most this many commands',
  })
  max?: number;
  @ApiPropertyOptional({
    type: 'integer',
    minimum: LEASE_LIMITS.leaseMsMin,
    maximum: LEASE_LIMITS.leaseMsMax,
    default: LEASE_DEFAULTS.leaseMs,
    description:
      'How long the lease lasts, in ms: complete or fail each command before `leaseUntil`, else another worker may take it',
  })
  leaseMs?: number;
}

/** One command leased to a worker. */
export class LeasedCommandResponse {
  @ApiProperty({
    description:
      'Deterministic (derived from the event that dispatched it): a receiver deduplicates its effect by it',
  })
  commandId!: string;
  @ApiProperty({ example: 'RunKycCheck' }) commandType!: string;
  @ApiProperty({ example: 'kycOnboarding' }) workflow!: string;
  @ApiProperty({ example: 'u-1' }) instanceId!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "The command's fields, as its schema has them",
    example: { userId: 'u-1', fullName: 'Ada Lovelace', country: 'GB' },
  })
  payload!: Record<string, unknown>;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'Which attempt this is (1 for the first), since it was dispatched or retried',
  })
  attempts!: number;
  @ApiProperty({ format: 'date-time', description: 'Until when this worker holds it' })
  leaseUntil!: string;
  @ApiProperty({ format: 'date-time' }) dispatchedAt!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The error the last failed attempt reported, if any',
  })
  lastError!: string | null;
}

/** What `POST /commands/lease` answers. */
export class LeaseCommandsResponse {
  @ApiProperty({
    type: () => [LeasedCommandResponse],
    description: 'Oldest dispatch first; empty when none is available now',
  })
  commands!: LeasedCommandResponse[];
}

/** An emitted command's reply event. */
export class CommandReplyBody {
  @ApiProperty({ description: 'An event type of the workflow', example: 'KYCCompleted' })
  type!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "The event's payload, validated against its schema",
    example: { checkId: 'kyc-7' },
  })
  payload!: Record<string, unknown>;
}

/** `POST /commands/{commandId}/complete`. */
export class CompleteCommandBody {
  @ApiProperty(WORKER_ID) workerId!: string;
  @ApiPropertyOptional({
    type: CommandReplyBody,
    description:
      "An emitted command's reply: an event of the workflow, delivered to the instance (none: the command is done, nothing to say)",
  })
  reply?: CommandReplyBody;
  @ApiPropertyOptional({
    description:
      "An invoked actor's output (any JSON), validated against the record its invoke declares",
    oneOf: [
      { type: 'object', additionalProperties: true, nullable: true },
      { type: 'array', items: {} },
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
    ],
  })
  output?: unknown;
}

/** An instance after a command outcome: its summary, its timers, commands and incidents. */
export class CommandInstanceResponse extends WrittenInstanceResponse {
  @ApiProperty({
    type: () => [InFlightCommandResponse],
    description: 'Commands the instance dispatched that are not settled yet, oldest first',
  })
  inFlightCommands!: readonly InFlightCommandResponse[];
  @ApiProperty({
    type: () => [IncidentResponse],
    description: 'Commands that failed for good and wait for an operator',
  })
  incidents!: readonly IncidentResponse[];
}

/** What `POST /commands/{commandId}/complete` answers. */
export class CompleteCommandResponse {
  @ApiProperty({
    enum: ['recorded', 'replayed'],
    description:
      '`recorded`: this call recorded the completion; `replayed`: it was recorded before (by this worker or another): nothing new',
  })
  outcome!: 'recorded' | 'replayed';
  @ApiProperty() commandId!: string;
  @ApiPropertyOptional({
    description:
      "Recorded: whether the instance's state took the reply (false: it had moved on, e.g. by a timer; the command is settled all the same)",
  })
  replyAccepted?: boolean;
  @ApiProperty({ type: CommandInstanceResponse }) instance!: CommandInstanceResponse;
}

/** `POST /commands/{commandId}/fail`. */
export class FailCommandBody {
  @ApiProperty(WORKER_ID) workerId!: string;
  @ApiProperty({
    minLength: 1,
    maxLength: MAX_ERROR_LENGTH,
    description: 'What went wrong, for the operator (kept as the last error, and in the incident)',
    example: 'KYC provider answered 503',
  })
  error!: string;
  @ApiPropertyOptional({
    default: true,
    description:
      "Whether another attempt may succeed: true retries after the command type's back-off until its attempts run out; false fails it for good now",
  })
  retryable?: boolean;
}

/** What `POST /commands/{commandId}/fail` answers. */
export class FailCommandResponse {
  @ApiProperty() commandId!: string;
  @ApiProperty({
    enum: ['pending', 'incident', 'failed'],
    description:
      "`pending`: it will be leased again at `retryAt`; `incident`: it failed for good and waits for an operator (`incidentId`); `failed`: it failed for good and the error went to the workflow (an invoke's `onError`)",
  })
  status!: 'pending' | 'incident' | 'failed';
  @ApiProperty({ type: 'integer', minimum: 0, description: 'The attempts made so far' })
  attempts!: number;
  @ApiPropertyOptional({ format: 'date-time', description: 'Pending: not leased before this' })
  retryAt?: string;
  @ApiPropertyOptional({ description: 'Incident: its id, for `POST /incidents/{incidentId}/…`' })
  incidentId?: string;
  @ApiPropertyOptional({
    type: CommandInstanceResponse,
    description: 'Incident or failed: the instance after it was recorded',
  })
  instance?: CommandInstanceResponse;
}

/** One command as the command queue knows it. */
export class QueuedCommandResponse {
  @ApiProperty({ description: 'Deterministic: receivers deduplicate by it' }) commandId!: string;
  @ApiProperty({ example: 'RunKycCheck' }) commandType!: string;
  @ApiProperty({ example: 'kycOnboarding' }) workflow!: string;
  @ApiProperty({ example: 'u-1' }) instanceId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "The command's fields" })
  payload!: Record<string, unknown>;
  @ApiProperty({ format: 'date-time', description: 'When its CommandDispatched was recorded' })
  dispatchedAt!: string;
  @ApiProperty({ type: 'integer', minimum: 0 }) dispatchedRevision!: number;
  @ApiProperty({
    enum: COMMAND_STATUSES,
    description:
      '`leased` with a past `leaseUntil`: the lease expired, and the next lease takes it',
  })
  status!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Attempts started since it was dispatched or last retried',
  })
  attempts!: number;
  @ApiProperty({ format: 'date-time', description: 'Pending: not leased before this' })
  availableAt!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Leased: by which worker' })
  leaseOwner!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  leaseUntil!: string | null;
  @ApiProperty({ type: String, nullable: true, description: "The last failed attempt's error" })
  lastError!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Its last incident: open while `incident`, kept once closed (retried, resolved), null before the first',
  })
  incidentId!: string | null;
}

/** One page of commands, oldest dispatch first. */
export class CommandPageResponse {
  @ApiProperty({ type: () => [QueuedCommandResponse] }) commands!: QueuedCommandResponse[];
  @ApiPropertyOptional({ description: 'Pass as `after` for the next page; absent on the last' })
  next?: string;
}
