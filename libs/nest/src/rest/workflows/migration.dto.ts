import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_MIGRATION_REASON_LENGTH } from '@esflow/core';
import { MAX_LISTED_BATCH_ERRORS } from '../../migrations/migration-batches';
import { STATE_VALUE_SCHEMA } from '../openapi/state-value';
import { WrittenInstanceResponse } from './workflow.dto';
import { MAX_DEFINITION_VERSION, MAX_STATE_MAPPINGS } from './workflow-requests';

/** OpenAPI shapes of the migration calls; the checks themselves are in workflow-requests. */

const VERSION = { type: 'integer', minimum: 1, maximum: MAX_DEFINITION_VERSION } as const;

/** The fields of a migration, one instance's or a batch's. */
export class MigrationFieldsBody {
  @ApiProperty({
    ...VERSION,
    description:
      'The definition version to move the instance to: registered, and not the one it runs on',
    example: 2,
  })
  toVersion!: number;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', minLength: 1 },
    maxProperties: MAX_STATE_MAPPINGS,
    description:
      'Where each leaf state the instance is in goes: dotted source path → dotted target path (or a target state value as JSON). A state left out keeps its path, which the target must have; a target state must exist and not be final',
    example: { fetchingGoods: 'checkingFraud' },
  })
  stateMapping?: Record<string, string>;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      "A JSON merge patch (RFC 7396) of the context, applied after the target's `migrations.contextFrom` (objects merge, `null` deletes a field); the result must pass the target's `migrations.validateContext`",
    example: { fraudCheckId: null },
  })
  contextPatch?: Record<string, unknown>;
  @ApiPropertyOptional({
    enum: ['refuse', 'cancel'],
    default: 'refuse',
    description:
      'A timer, command or buffered message that cannot follow the mapping: `refuse` the migration (each one named), or `cancel` it in the same append (timers cancelled, commands withdrawn, messages left to expire)',
  })
  unmappable?: string;
  @ApiPropertyOptional({
    default: false,
    description: 'Plan and check only: the answer says what would change, nothing is written',
  })
  dryRun?: boolean;
  @ApiPropertyOptional({
    maxLength: MAX_MIGRATION_REASON_LENGTH,
    description: "Why, in the operator's words: recorded in `InstanceMigrated` with who did it",
    example: 'v2 adds the fraud check',
  })
  reason?: string;
}

/** `POST /workflows/{workflow}/{id}/migrate`. */
export class MigrateInstanceBody extends MigrationFieldsBody {}

/** A timer moved to the mapped state's delay of the same name, due when it was. */
export class MovedTimerResponse {
  @ApiProperty({ description: 'The timer that was pending (cancelled, and scheduled again)' })
  timerId!: string;
  @ApiProperty({
    description: 'The event it delivers in the target version',
    example: 'xstate.after.paymentWindow.orderFulfillment.awaitingPayment',
  })
  eventType!: string;
}

export class MigrationTimersResponse {
  @ApiProperty({
    type: [String],
    description: 'Timers that go on as they are (the same state and delay in the target)',
  })
  kept!: readonly string[];
  @ApiProperty({
    type: () => [MovedTimerResponse],
    description: '`after` timers rescheduled on the mapped state, due when they were',
  })
  moved!: readonly MovedTimerResponse[];
  @ApiProperty({ type: [String], description: 'Cancelled (`unmappable: cancel`)' })
  cancelled!: readonly string[];
}

export class MigrationCommandsResponse {
  @ApiProperty({
    type: [String],
    description:
      'Commands in flight that follow: emitted ones (their reply is an event like any other), and invoked ones whose invoke the target state has',
  })
  kept!: readonly string[];
  @ApiProperty({
    type: [String],
    description: 'Invoked commands whose invoke is gone, withdrawn (`unmappable: cancel`)',
  })
  withdrawn!: readonly string[];
}

export class MigrationMessagesResponse {
  @ApiProperty({
    type: [String],
    description: 'Buffered messages for the instance that the target still declares (by id)',
  })
  follow!: readonly string[];
  @ApiProperty({
    type: [String],
    description:
      'Buffered messages the target no longer declares (`unmappable: cancel`): they expire unmatched',
  })
  undeliverable!: readonly string[];
}

/** What a migration changes (or, in a dry run, would change). */
export class MigrationPlanResponse {
  @ApiProperty({ ...VERSION, example: 1 }) fromVersion!: number;
  @ApiProperty({ ...VERSION, example: 2 }) toVersion!: number;
  @ApiProperty({ ...STATE_VALUE_SCHEMA, description: 'The state before' })
  fromState!: unknown;
  @ApiProperty({ ...STATE_VALUE_SCHEMA, description: 'The state after (the mapping applied)' })
  toState!: unknown;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'The mapping as applied: every leaf state the instance was in, and where it went',
    example: { awaitingPayment: 'awaitingPayment' },
  })
  stateMapping!: Record<string, string>;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'The context the instance continues with (recorded as it is: replay never recomputes it)',
  })
  context!: unknown;
  @ApiProperty({ type: MigrationTimersResponse }) timers!: MigrationTimersResponse;
  @ApiProperty({ type: MigrationCommandsResponse }) commands!: MigrationCommandsResponse;
  @ApiProperty({ type: MigrationMessagesResponse }) messages!: MigrationMessagesResponse;
}

/** The answer to a migration. */
export class MigrationResponse {
  @ApiProperty({ description: 'Whether this was a dry run (then nothing was written)' })
  dryRun!: boolean;
  @ApiProperty({ type: MigrationPlanResponse }) plan!: MigrationPlanResponse;
  @ApiProperty({
    type: WrittenInstanceResponse,
    description:
      'The instance as it now is (on `toVersion`, in `toState`); in a dry run, as it is still',
  })
  instance!: WrittenInstanceResponse;
}

/** Which running instances a batch takes. */
export class MigrationFilterBody {
  @ApiProperty({ ...VERSION, description: 'The version they run on', example: 1 })
  fromVersion!: number;
  @ApiPropertyOptional({
    description:
      'Only those in this state or one below it: a dotted path (`shipping.awaitingCarrier`) or a state value as JSON',
    example: 'awaitingPayment',
  })
  state?: string;
  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 200,
    description: 'Only those whose id starts with it',
    example: 'order-',
  })
  idPrefix?: string;
}

/** `POST /workflows/{workflow}/migrations`. */
export class MigrationBatchBody extends MigrationFieldsBody {
  @ApiProperty({ type: MigrationFilterBody }) filter!: MigrationFilterBody;
}

export class MigrationBatchErrorResponse {
  @ApiProperty({ description: 'The instance' }) id!: string;
  @ApiProperty({ example: 'MIGRATION_REFUSED' }) code!: string;
  @ApiProperty({ description: 'Why, naming what cannot be migrated' }) message!: string;
}

export class MigrationBatchFailureResponse {
  @ApiProperty({ example: 'STORE_UNAVAILABLE' }) code!: string;
  @ApiProperty() message!: string;
}

/** Where a batch migration stands. */
export class MigrationBatchResponse {
  @ApiProperty({ format: 'uuid', description: 'Read its progress at `/migrations/{migrationId}`' })
  migrationId!: string;
  @ApiProperty({ example: 'orderFulfillment' }) workflow!: string;
  @ApiProperty({ enum: ['running', 'done'] }) status!: string;
  @ApiProperty({ description: 'A dry run: each instance planned and checked, none written' })
  dryRun!: boolean;
  @ApiProperty({ type: MigrationFilterBody }) filter!: MigrationFilterBody;
  @ApiProperty({ ...VERSION, example: 2 }) toVersion!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description:
      'Running instances the filter took, as the read model lists them (grows while they are selected)',
  })
  matched!: number;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Migrated (in a dry run: would be)' })
  migrated!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'On the target version already (migrated before), or no longer running',
  })
  skipped!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Refused (MIGRATION_REFUSED): nothing written for them',
  })
  refused!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Failed otherwise (a conflict, a fault): nothing written for them',
  })
  failed!: number;
  @ApiProperty({
    type: () => [MigrationBatchErrorResponse],
    maxItems: MAX_LISTED_BATCH_ERRORS,
    description: `The first ${MAX_LISTED_BATCH_ERRORS} instances refused or failed, and why`,
  })
  errors!: readonly MigrationBatchErrorResponse[];
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'Once done' }) finishedAt?: string;
  @ApiPropertyOptional({
    type: MigrationBatchFailureResponse,
    description:
      'What stopped the batch before it went through every instance it matched (the read model unreachable, ...)',
  })
  failure?: MigrationBatchFailureResponse;
}
