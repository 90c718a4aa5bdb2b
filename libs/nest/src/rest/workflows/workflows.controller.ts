import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import {
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import {
  ErrorCode,
  EventTraceContext,
  InstanceView,
  MessageIndex,
  ReadModelQueries,
  Result,
  WorkflowCatalog,
  WorkflowEngine,
} from '@esflow/core';
import { migrateInstance } from '../../migrations/instance-migration';
import { MESSAGE_INDEX, READ_MODEL_QUERIES, WORKFLOW_CATALOG, WORKFLOW_ENGINE } from '../../tokens';
import { requestTraceContext } from '../../tracing/http-tracing';
import { principalOf } from '../http/principal';
import {
  checkId,
  etagOf,
  malformed,
  parseIfMatch,
  parseToken,
  rejected,
} from '../http/request-parsing';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { ApiPageQuery } from '../http/paging';
import {
  CONSISTENCY_HEADER,
  CORRELATION_ID_HEADER,
  ETAG_HEADER,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  IF_MATCH_HEADER,
  LOCATION_HEADER,
} from '../openapi/headers';
import {
  ApiEdgeProblemModels,
  ApiProblems,
  BODY_EDGE_CODES,
  FAULT_CODES,
} from '../openapi/problems';
import {
  parseListQuery,
  parseMigrateBody,
  parseSendBody,
  parseStartBody,
  parseTerminateBody,
} from './workflow-requests';
import {
  HistoryResponse,
  InstanceDetailResponse,
  InstancePageResponse,
  WrittenInstanceResponse,
  SendEventBody,
  StartWorkflowBody,
  TerminateInstanceBody,
} from './workflow.dto';
import { MigrateInstanceBody, MigrationResponse } from './migration.dto';

/** The request span's trace context, for the events it appends (none with tracing off). */
function tracedBy(request: object): { traceContext?: EventTraceContext } {
  const traceContext = requestTraceContext(request);
  return traceContext ? { traceContext } : {};
}

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) rejected(result.rejection);
  return result.value;
}

/** The public fields of an instance after a write (no context: it may be large), with its timers. */
export function summary(instance: InstanceView): WrittenInstanceResponse {
  const { workflow, id, version, state, status, revision, pendingTimers } = instance;
  return { workflow, id, version, state, status, revision, pendingTimers: [...pendingTimers] };
}

const ID_SCHEMA = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$' };
const WORKFLOW_PARAM = ApiParam({
  name: 'workflow',
  description: 'A registered workflow name, e.g. `orderFulfillment`',
  schema: { ...ID_SCHEMA, example: 'orderFulfillment' },
});
const ID_PARAM = ApiParam({
  name: 'id',
  description: 'Instance id: 1–200 of `[A-Za-z0-9._:-]`, not `.` or `..`',
  schema: { ...ID_SCHEMA, example: 'order-1001' },
});

@ApiTags('workflows')
@ApiEdgeProblemModels()
@UseFilters(ProblemDetailsFilter)
@Controller('workflows')
export class WorkflowsController {
  constructor(
    @Inject(WORKFLOW_ENGINE) private readonly engine: WorkflowEngine,
    @Inject(WORKFLOW_CATALOG) private readonly catalog: WorkflowCatalog,
    @Inject(READ_MODEL_QUERIES) private readonly instances: ReadModelQueries,
    @Inject(MESSAGE_INDEX) private readonly messageIndex: MessageIndex,
  ) {}

  @Post(':workflow')
  @HttpCode(201)
  @ApiOperation({
    operationId: 'startInstance',
    summary: 'Start a workflow instance with its start event',
  })
  @WORKFLOW_PARAM
  @ApiBody({ type: StartWorkflowBody })
  @ApiHeader(
    IDEMPOTENCY_KEY_HEADER(
      'Repeating the start with the same key answers the first result (201, `Idempotent-Replayed: true`) and appends nothing.',
    ),
  )
  @ApiHeader(CORRELATION_ID_HEADER)
  @ApiResponse({
    status: 201,
    description: 'Started (or, with a repeated Idempotency-Key, started before)',
    type: WrittenInstanceResponse,
    headers: {
      Location: LOCATION_HEADER,
      ETag: ETAG_HEADER,
      'Idempotent-Replayed': IDEMPOTENT_REPLAYED_HEADER,
    },
  })
  @ApiProblems(
    ...BODY_EDGE_CODES,
    ErrorCode.InvalidId,
    ErrorCode.SchemaValidationFailed,
    ErrorCode.WorkflowNotFound,
    ErrorCode.InstanceAlreadyExists,
    ErrorCode.InstanceTooLarge,
    ErrorCode.IdempotencyKeyReused,
    ...FAULT_CODES,
  )
  async start(
    @Param('workflow') workflow: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Headers('x-correlation-id') correlationId: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<WrittenInstanceResponse> {
    checkId(workflow, 'workflow');
    const { id, input } = parseStartBody(body);
    if (id !== undefined) checkId(id, 'id');
    const key = parseToken(idempotencyKey, 'Idempotency-Key');
    const correlation = parseToken(correlationId, 'X-Correlation-Id');
    const outcome = unwrap(
      await this.engine.startWorkflow.handle({
        workflow,
        input,
        ...(id === undefined ? {} : { id }),
        ...(key === undefined ? {} : { idempotencyKey: key }),
        ...(correlation === undefined ? {} : { correlationId: correlation }),
        ...tracedBy(response.req),
        actor: principalOf(response.req).id,
      }),
    );
    const { instance } = outcome;
    response.setHeader(
      'Location',
      `/workflows/${instance.workflow}/${encodeURIComponent(instance.id)}`,
    );
    response.setHeader('ETag', etagOf(instance.revision));
    if (outcome.replayed) response.setHeader('Idempotent-Replayed', 'true');
    return summary(instance);
  }

  @Post(':workflow/:id/events')
  @HttpCode(200)
  @ApiOperation({ operationId: 'sendEvent', summary: 'Send an event to an instance' })
  @WORKFLOW_PARAM
  @ID_PARAM
  @ApiBody({ type: SendEventBody })
  @ApiHeader(IF_MATCH_HEADER)
  @ApiHeader(
    IDEMPOTENCY_KEY_HEADER(
      'Repeating the event with the same key answers the first result (200, `Idempotent-Replayed: true`) and appends nothing.',
    ),
  )
  @ApiHeader(CORRELATION_ID_HEADER)
  @ApiResponse({
    status: 200,
    description: 'Accepted and recorded (or, with a repeated Idempotency-Key, recorded before)',
    type: WrittenInstanceResponse,
    headers: { ETag: ETAG_HEADER, 'Idempotent-Replayed': IDEMPOTENT_REPLAYED_HEADER },
  })
  @ApiProblems(
    ...BODY_EDGE_CODES,
    ErrorCode.InvalidId,
    ErrorCode.SchemaValidationFailed,
    ErrorCode.UnknownEventType,
    ErrorCode.WorkflowNotFound,
    ErrorCode.InstanceNotFound,
    ErrorCode.RevisionConflict,
    ErrorCode.InstanceTooLarge,
    ErrorCode.EventNotAccepted,
    ErrorCode.IdempotencyKeyReused,
    ...FAULT_CODES,
  )
  async send(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Headers('x-correlation-id') correlationId: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<WrittenInstanceResponse> {
    checkId(workflow, 'workflow');
    checkId(id, 'id');
    const { type, payload } = parseSendBody(body);
    const expectedRevision = parseIfMatch(ifMatch);
    const key = parseToken(idempotencyKey, 'Idempotency-Key');
    const correlation = parseToken(correlationId, 'X-Correlation-Id');
    const outcome = unwrap(
      await this.engine.sendEvent.handle({
        workflow,
        id,
        type,
        payload,
        ...(expectedRevision === undefined ? {} : { expectedRevision }),
        ...(key === undefined ? {} : { idempotencyKey: key }),
        ...(correlation === undefined ? {} : { correlationId: correlation }),
        ...tracedBy(response.req),
        actor: principalOf(response.req).id,
      }),
    );
    response.setHeader('ETag', etagOf(outcome.instance.revision));
    if (outcome.replayed) response.setHeader('Idempotent-Replayed', 'true');
    return summary(outcome.instance);
  }

  @Post(':workflow/:id/terminate')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'terminateInstance',
    summary: 'Terminate a running instance by hand (an operator action)',
    description:
      'Records `InstanceTerminated { reason, operator, stateAtTermination }` (the operator: who made the request) with a `TimerCancelled` for each pending timer and a `CommandWithdrawn` for each command in flight, in one append: no timer of the instance fires and no command of it is leased any more. Its status becomes `terminated` (final); it accepts no event after.',
  })
  @WORKFLOW_PARAM
  @ID_PARAM
  @ApiBody({ type: TerminateInstanceBody })
  @ApiHeader(IF_MATCH_HEADER)
  @ApiResponse({
    status: 200,
    description: 'Terminated: the instance as it now is (status `terminated`, no pending timers)',
    type: WrittenInstanceResponse,
    headers: { ETag: ETAG_HEADER },
  })
  @ApiProblems(
    ...BODY_EDGE_CODES,
    ErrorCode.InvalidId,
    ErrorCode.WorkflowNotFound,
    ErrorCode.InstanceNotFound,
    ErrorCode.RevisionConflict,
    ErrorCode.InstanceNotRunning,
    ...FAULT_CODES,
  )
  async terminate(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<WrittenInstanceResponse> {
    checkId(workflow, 'workflow');
    checkId(id, 'id');
    const { reason } = parseTerminateBody(body);
    const expectedRevision = parseIfMatch(ifMatch);
    const outcome = unwrap(
      await this.engine.terminate.handle({
        workflow,
        id,
        reason,
        operator: principalOf(response.req).id,
        ...(expectedRevision === undefined ? {} : { expectedRevision }),
      }),
    );
    response.setHeader('ETag', etagOf(outcome.instance.revision));
    return summary(outcome.instance);
  }

  @Post(':workflow/:id/migrate')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'migrateInstance',
    summary: 'Move a running instance to another definition version (an operator action)',
    description:
      "Checks, before anything is written, that the target version is registered and is not the instance's; that each leaf state it is in maps (`stateMapping`, else the same path) to a state the target has and that is not final; that the context, through the target's `migrations.contextFrom` and then `contextPatch`, passes the target's `migrations.validateContext`; that each pending timer, invoked command in flight and buffered message can follow. What cannot is named in a 422 MIGRATION_REFUSED (`errors`), or cancelled with `unmappable: cancel`. Then records `InstanceMigrated { fromVersion, toVersion, stateMapping, ... }` (the operator: who made the request) with the `TimerCancelled`/`TimerScheduled` and `CommandWithdrawn` of the timers and commands it moves or ends, in one append; from then on the instance replays and runs on `toVersion`. `dryRun: true` answers the plan and writes nothing.",
  })
  @WORKFLOW_PARAM
  @ID_PARAM
  @ApiBody({ type: MigrateInstanceBody })
  @ApiHeader(IF_MATCH_HEADER)
  @ApiResponse({
    status: 200,
    description:
      'Migrated (or, in a dry run, what would be): the plan, and the instance as it now is',
    type: MigrationResponse,
    headers: { ETag: ETAG_HEADER },
  })
  @ApiProblems(
    ...BODY_EDGE_CODES,
    ErrorCode.InvalidId,
    ErrorCode.WorkflowNotFound,
    ErrorCode.InstanceNotFound,
    ErrorCode.RevisionConflict,
    ErrorCode.InstanceNotRunning,
    ErrorCode.MigrationRefused,
    ErrorCode.InstanceTooLarge,
    ...FAULT_CODES,
  )
  async migrate(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<MigrationResponse> {
    checkId(workflow, 'workflow');
    checkId(id, 'id');
    const { toVersion, stateMapping, contextPatch, unmappable, dryRun, reason } =
      parseMigrateBody(body);
    const expectedRevision = parseIfMatch(ifMatch);
    const outcome = unwrap(
      await migrateInstance(
        { engine: this.engine, messageIndex: this.messageIndex },
        {
          workflow,
          id,
          toVersion,
          operator: principalOf(response.req).id,
          ...(stateMapping ? { stateMapping } : {}),
          ...(contextPatch ? { contextPatch } : {}),
          ...(unmappable ? { unmappable } : {}),
          ...(dryRun === undefined ? {} : { dryRun }),
          ...(reason === undefined ? {} : { reason }),
          ...(expectedRevision === undefined ? {} : { expectedRevision }),
        },
      ),
    );
    response.setHeader('ETag', etagOf(outcome.instance.revision));
    return { dryRun: outcome.dryRun, plan: outcome.plan, instance: summary(outcome.instance) };
  }

  @Get(':workflow/:id')
  @ApiOperation({
    operationId: 'getInstance',
    summary: 'Read an instance: state, context and the events it accepts now',
  })
  @WORKFLOW_PARAM
  @ID_PARAM
  @ApiResponse({
    status: 200,
    description: 'The instance, read from its stream (strongly consistent)',
    type: InstanceDetailResponse,
    headers: { ETag: ETAG_HEADER },
  })
  @ApiProblems(
    ErrorCode.InvalidId,
    ErrorCode.WorkflowNotFound,
    ErrorCode.InstanceNotFound,
    ...FAULT_CODES,
  )
  async get(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<InstanceDetailResponse> {
    checkId(workflow, 'workflow');
    checkId(id, 'id');
    const instance = unwrap(await this.engine.queries.get(workflow, id));
    response.setHeader('ETag', etagOf(instance.revision));
    return instance;
  }

  @Get(':workflow/:id/history')
  @ApiOperation({ operationId: 'getHistory', summary: "An instance's events, decoded" })
  @WORKFLOW_PARAM
  @ID_PARAM
  @ApiResponse({
    status: 200,
    description: 'Every event of the instance in revision order, decoded with the current schemas',
    type: HistoryResponse,
  })
  @ApiProblems(
    ErrorCode.InvalidId,
    ErrorCode.WorkflowNotFound,
    ErrorCode.InstanceNotFound,
    ...FAULT_CODES,
  )
  async history(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
  ): Promise<HistoryResponse> {
    checkId(workflow, 'workflow');
    checkId(id, 'id');
    return { events: unwrap(await this.engine.queries.history(workflow, id)) };
  }

  @Get()
  @ApiOperation({
    operationId: 'listInstances',
    summary: 'List instances (filter by workflow, state, status; cursor pagination)',
    description:
      "Reads the projector's read model: eventually consistent (see `waitFor`). Unknown query parameters are 400.",
  })
  @ApiQuery({
    name: 'workflow',
    required: false,
    description: 'Only instances of this registered workflow (an unknown one is 400)',
    schema: { type: 'string', example: 'orderFulfillment' },
  })
  @ApiQuery({
    name: 'state',
    required: false,
    description:
      'Only instances in this state value: the state name, or the JSON of an object state',
    schema: { type: 'string', example: 'awaitingPayment' },
  })
  @ApiQuery({
    name: 'status',
    required: false,
    description: 'Only instances with this status',
    schema: {
      type: 'string',
      enum: ['running', 'completed', 'cancelled', 'failed', 'terminated'],
    },
  })
  @ApiPageQuery('orderFulfillment/order-1001')
  @ApiQuery({
    name: 'waitFor',
    required: false,
    description:
      'Read your own write: `<id>@<revision>` (with `workflow`) waits up to 5 s until the read model has applied that revision; ' +
      'the answer carries `Esflow-Consistency: fresh`, or `stale` if it had not',
    schema: {
      type: 'string',
      pattern: '^[A-Za-z0-9._:-]{1,200}@\\d{1,15}$',
      example: 'order-1001@4',
    },
  })
  @ApiResponse({
    status: 200,
    description: 'One page, in a stable order (workflow, then id)',
    type: InstancePageResponse,
    headers: { 'Esflow-Consistency': CONSISTENCY_HEADER },
  })
  @ApiProblems(ErrorCode.MalformedRequest, ...FAULT_CODES)
  async list(
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) response: Response,
  ): Promise<InstancePageResponse> {
    const { waitFor, ...parsed } = parseListQuery(query);
    if (parsed.workflow !== undefined && !this.catalog.latest(parsed.workflow))
      throw malformed(`no workflow named ${parsed.workflow}`, [
        { path: 'workflow', message: `known: ${this.catalog.names().join(', ')}` },
      ]);
    if (waitFor) {
      if (parsed.workflow === undefined)
        throw malformed('waitFor needs the workflow parameter', [
          { path: 'waitFor', message: 'give workflow=<name> too' },
        ]);
      const reached = await this.instances.waitForRevision(
        parsed.workflow,
        waitFor.id,
        waitFor.revision,
        5_000,
      );
      response.setHeader('Esflow-Consistency', reached ? 'fresh' : 'stale');
    }
    return this.instances.list(parsed);
  }
}
