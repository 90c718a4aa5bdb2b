import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  UseFilters,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  COMMAND_STATUSES,
  CommandQuery,
  CommandQueue,
  ErrorCode,
  WorkflowCatalog,
  WorkflowEngine,
} from '@esflow/core';
import { EsflowRuntime } from '../../runtime/esflow-runtime';
import { COMMAND_QUEUE, ESFLOW_RUNTIME, WORKFLOW_CATALOG, WORKFLOW_ENGINE } from '../../tokens';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { ApiPageQuery } from '../http/paging';
import { checkId, rejected } from '../http/request-parsing';
import {
  ApiEdgeProblemModels,
  ApiProblems,
  BODY_EDGE_CODES,
  FAULT_CODES,
} from '../openapi/problems';
import {
  parseCommandQuery,
  parseCompleteBody,
  parseFailBody,
  parseLeaseBody,
} from './command-requests';
import { instanceView, leasedView, queuedView } from './command-views';
import {
  CommandPageResponse,
  CompleteCommandBody,
  CompleteCommandResponse,
  FailCommandBody,
  FailCommandResponse,
  LeaseCommandsBody,
  LeaseCommandsResponse,
} from './commands.dto';
import { commandNotFound, commandNotInFlight, failCommandAttempt } from './fail-command';

const COMMAND_ID_PARAM = ApiParam({
  name: 'commandId',
  description: 'The command id, as the lease (or `GET /commands`) gave it',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$' },
});

/**
 * The external-worker API, in the manner of Zeebe job workers and Camunda external tasks: a
 * worker leases commands of the types it carries out (`POST /commands/lease`), each for a time,
 * carries each out, and reports it `complete` (with the reply event, or the invoked actor's
 * output) or `fail`ed (retried after the command type's back-off, or, once its attempts run out,
 * an incident for an operator, `GET /incidents`). The queue is filled by the dispatcher from the
 * log, so it is eventually consistent with the instances' streams; what a report records goes to
 * the instance's stream through the engine, exactly once per command id. `GET /commands` lists
 * the queue.
 */
@ApiTags('commands')
@ApiEdgeProblemModels()
@UseFilters(ProblemDetailsFilter)
@Controller('commands')
export class CommandsController {
  constructor(
    @Inject(COMMAND_QUEUE) private readonly queue: CommandQueue,
    @Inject(WORKFLOW_ENGINE) private readonly engine: WorkflowEngine,
    @Inject(WORKFLOW_CATALOG) private readonly catalog: WorkflowCatalog,
    @Inject(ESFLOW_RUNTIME) private readonly runtime: EsflowRuntime,
  ) {}

  @Post('lease')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'leaseCommands',
    summary: 'Lease commands of the given types to a worker, each until `leaseUntil`',
    description:
      'Takes up to `max` commands that are pending and due, or whose lease expired, oldest dispatch first; never one another worker holds. Each becomes leased by `workerId` for `leaseMs`, one attempt more. An empty list when none is available: ask again later (poll).',
  })
  @ApiBody({ type: LeaseCommandsBody })
  @ApiResponse({
    status: 200,
    description: 'The commands leased (maybe none)',
    type: LeaseCommandsResponse,
  })
  @ApiProblems(...BODY_EDGE_CODES, ...FAULT_CODES)
  async lease(@Body() body: unknown): Promise<LeaseCommandsResponse> {
    const { workerId, commandTypes, max, leaseMs } = parseLeaseBody(body);
    const leased = await this.queue.lease({
      commandTypes: [...new Set(commandTypes)],
      owner: workerId,
      leaseMs,
      max,
      now: this.runtime.clock.now(),
    });
    return { commands: leased.map(leasedView) };
  }

  @Post(':commandId/complete')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'completeCommand',
    summary: 'Report a command carried out, with its reply event or its output',
    description:
      "Records the completion in the instance's stream: an emitted command's `reply` (an event of the workflow, delivered to the instance if its state accepts it), or an invoked actor's `output` (delivered as the invoke's done event). Accepted from any worker while the command is in flight, its lease held or not: the first completion recorded wins, and a repeated one answers `replayed` (the effect is deduplicated by command id, which a worker's own side effects should be keyed by too).",
  })
  @COMMAND_ID_PARAM
  @ApiBody({ type: CompleteCommandBody })
  @ApiResponse({
    status: 200,
    description: 'Recorded now, or before (`replayed`)',
    type: CompleteCommandResponse,
  })
  @ApiProblems(
    ...BODY_EDGE_CODES,
    ErrorCode.InvalidId,
    ErrorCode.SchemaValidationFailed,
    ErrorCode.UnknownEventType,
    ErrorCode.CommandNotFound,
    ErrorCode.CommandNotInFlight,
    ErrorCode.InstanceTooLarge,
    ...FAULT_CODES,
  )
  async complete(
    @Param('commandId') commandId: string,
    @Body() body: unknown,
  ): Promise<CompleteCommandResponse> {
    checkId(commandId, 'commandId');
    const { reply, output } = parseCompleteBody(body);
    const command = await this.queue.get(commandId);
    if (!command) throw commandNotFound(commandId);
    const result = await this.engine.commands.complete({
      workflow: command.workflow,
      id: command.instanceId,
      commandId,
      attempts: Math.max(1, command.attempts),
      ...(reply === undefined ? {} : { reply }),
      ...(output === undefined ? {} : { output }),
    });
    if (!result.ok) rejected(result.rejection);
    const outcome = result.value;
    if (outcome.outcome === 'notInFlight') throw commandNotInFlight(command);
    return {
      outcome: outcome.outcome,
      commandId,
      ...(outcome.outcome === 'recorded' ? { replyAccepted: outcome.replyAccepted } : {}),
      instance: instanceView(outcome.instance),
    };
  }

  @Post(':commandId/fail')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'failCommand',
    summary: 'Report an attempt at a command failed: retried later, or failed for good',
    description:
      "Only the worker holding the command's lease may report (an expired lease counts until another worker takes it). While the command type's retry policy has attempts left and the failure is `retryable`, the command is pending again from `retryAt` (the policy's back-off). Otherwise the final failure is recorded in the instance's stream: an incident that waits for an operator (`GET /incidents`), or, for an invoked actor whose state has `onError`, the error delivered to the workflow (`failed`). Either way the report ends the lease: the same report again is 409 LEASE_NOT_HELD (or COMMAND_NOT_IN_FLIGHT once the command is settled).",
  })
  @COMMAND_ID_PARAM
  @ApiBody({ type: FailCommandBody })
  @ApiResponse({
    status: 200,
    description: 'Pending again, an incident, or failed',
    type: FailCommandResponse,
  })
  @ApiProblems(
    ...BODY_EDGE_CODES,
    ErrorCode.InvalidId,
    ErrorCode.CommandNotFound,
    ErrorCode.LeaseNotHeld,
    ErrorCode.CommandNotInFlight,
    ...FAULT_CODES,
  )
  async fail(
    @Param('commandId') commandId: string,
    @Body() body: unknown,
  ): Promise<FailCommandResponse> {
    checkId(commandId, 'commandId');
    const { workerId, error, retryable } = parseFailBody(body);
    const outcome = await failCommandAttempt(
      {
        queue: this.queue,
        engine: this.engine,
        catalog: this.catalog,
        clock: this.runtime.clock,
        random: Math.random,
      },
      { commandId, workerId, error, retryable },
    );
    switch (outcome.status) {
      case 'pending':
        return {
          commandId,
          status: outcome.status,
          attempts: outcome.attempts,
          retryAt: outcome.retryAt.toISOString(),
        };
      case 'incident':
        return {
          commandId,
          status: outcome.status,
          attempts: outcome.attempts,
          incidentId: outcome.incidentId,
          instance: instanceView(outcome.instance),
        };
      case 'failed':
        return {
          commandId,
          status: outcome.status,
          attempts: outcome.attempts,
          instance: instanceView(outcome.instance),
        };
    }
  }

  @Get()
  @ApiOperation({
    operationId: 'listCommands',
    summary:
      'List the command queue (filter by status, type, workflow, instance; cursor pagination)',
    description:
      "Reads the queue the dispatcher keeps: eventually consistent with the instances' streams. Unknown query parameters are 400.",
  })
  @ApiQuery({
    name: 'status',
    required: false,
    schema: { type: 'string', enum: [...COMMAND_STATUSES] },
  })
  @ApiQuery({ name: 'command_type', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'workflow', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'instance_id', required: false, schema: { type: 'string' } })
  @ApiPageQuery()
  @ApiResponse({
    status: 200,
    description: 'One page, oldest dispatch first',
    type: CommandPageResponse,
  })
  @ApiProblems(ErrorCode.MalformedRequest, ...FAULT_CODES)
  async list(@Query() query: Record<string, unknown>): Promise<CommandPageResponse> {
    const { status, command_type, workflow, instance_id, limit, after } = parseCommandQuery(query);
    const request: CommandQuery = {
      limit,
      ...(status ? { status } : {}),
      ...(command_type ? { commandType: command_type } : {}),
      ...(workflow ? { workflow } : {}),
      ...(instance_id ? { instanceId: instance_id } : {}),
      ...(after ? { after } : {}),
    };
    const page = await this.queue.list(request);
    return { commands: page.commands.map(queuedView), ...(page.next ? { next: page.next } : {}) };
  }
}
