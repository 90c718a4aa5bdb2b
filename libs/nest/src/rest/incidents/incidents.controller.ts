import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  UseFilters,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CommandQueue,
  CommandStatus,
  ErrorCode,
  EsflowError,
  IncidentResolution,
  QueuedCommand,
  WorkflowEngine,
} from '@esflow/core';
import { COMMAND_QUEUE, WORKFLOW_ENGINE } from '../../tokens';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { ApiPageQuery } from '../http/paging';
import { checkId, rejected } from '../http/request-parsing';
import { principalOf } from '../http/principal';
import {
  ApiEdgeProblemModels,
  ApiProblems,
  BODY_EDGE_CODES,
  FAULT_CODES,
} from '../openapi/problems';
import {
  IncidentCall,
  parseIncidentQuery,
  parseResolveIncidentBody,
  parseRetryIncidentBody,
} from '../commands/command-requests';
import { instanceView, payloadOf } from '../commands/command-views';
import {
  IncidentDecisionResponse,
  IncidentPageResponse,
  OpenIncidentResponse,
  ResolveIncidentBody,
  RetryIncidentBody,
} from './incidents.dto';

const INCIDENT_ID_PARAM = ApiParam({
  name: 'incidentId',
  description: 'The incident id, as `GET /incidents` (or the failed command) gave it',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$' },
});

const DECISION_PROBLEMS = [
  ...BODY_EDGE_CODES,
  ErrorCode.InvalidId,
  ErrorCode.IncidentNotFound,
  ...FAULT_CODES,
] as const;
/** A resolution by hand also checks the output it gives an invoked actor's command. */
const RESOLVE_PROBLEMS = [...DECISION_PROBLEMS, ErrorCode.SchemaValidationFailed] as const;

/** An open incident as `GET /incidents` lists it. */
function incidentView(command: QueuedCommand): OpenIncidentResponse {
  return {
    incidentId: command.incidentId!,
    commandId: command.commandId,
    commandType: command.commandType,
    workflow: command.workflow,
    instanceId: command.instanceId,
    attempts: command.attempts,
    error: command.lastError ?? '',
    payload: payloadOf(command),
    dispatchedAt: command.dispatchedAt,
  };
}

function incidentNotFound(
  incidentId: string,
  why = 'never raised, or its command had another incident since (the queue follows the log, so an incident just raised may take a moment to appear)',
): EsflowError {
  return new EsflowError(
    ErrorCode.IncidentNotFound,
    `no command has an incident ${incidentId}: ${why}`,
    {
      details: { incidentId },
    },
  );
}

/**
 * The incidents API: the commands that failed for good (their last attempt, or a failure their
 * worker said cannot succeed), listed from the command queue, and an operator's decision on
 * each, recorded in the instance's stream (`IncidentResolved`): `retry` (the command is
 * dispatched again, its attempts from the start) or `resolve` (it was settled by hand, outside
 * esflow). A decision is recorded once per incident; a repeated one answers `replayed`.
 */
@ApiTags('incidents')
@ApiEdgeProblemModels()
@UseFilters(ProblemDetailsFilter)
@Controller('incidents')
export class IncidentsController {
  constructor(
    @Inject(COMMAND_QUEUE) private readonly queue: CommandQueue,
    @Inject(WORKFLOW_ENGINE) private readonly engine: WorkflowEngine,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listIncidents',
    summary: 'List the open incidents (filter by workflow, instance; cursor pagination)',
    description:
      "Reads the command queue: eventually consistent with the instances' streams (an instance's own `incidents` are strongly consistent). Unknown query parameters are 400.",
  })
  @ApiQuery({ name: 'workflow', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'instance_id', required: false, schema: { type: 'string' } })
  @ApiPageQuery()
  @ApiResponse({
    status: 200,
    description: 'One page of open incidents, oldest dispatch first',
    type: IncidentPageResponse,
  })
  @ApiProblems(ErrorCode.MalformedRequest, ...FAULT_CODES)
  async list(@Query() query: Record<string, unknown>): Promise<IncidentPageResponse> {
    const { workflow, instance_id, limit, after } = parseIncidentQuery(query);
    const page = await this.queue.list({
      status: CommandStatus.Incident,
      limit,
      ...(workflow ? { workflow } : {}),
      ...(instance_id ? { instanceId: instance_id } : {}),
      ...(after ? { after } : {}),
    });
    return {
      incidents: page.commands.map(incidentView),
      ...(page.next ? { next: page.next } : {}),
    };
  }

  @Post(':incidentId/retry')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'retryIncident',
    summary: 'Retry the command of an incident: it is leasable again, its attempts from the start',
  })
  @INCIDENT_ID_PARAM
  @ApiBody({ type: RetryIncidentBody, required: false })
  @ApiResponse({
    status: 200,
    description: 'Recorded now, or before (`replayed`)',
    type: IncidentDecisionResponse,
  })
  @ApiProblems(...DECISION_PROBLEMS)
  async retry(
    @Param('incidentId') incidentId: string,
    @Body() body: unknown,
    @Req() request: object,
  ): Promise<IncidentDecisionResponse> {
    checkId(incidentId, 'incidentId');
    return this.decide(incidentId, 'retry', parseRetryIncidentBody(body), principalOf(request).id);
  }

  @Post(':incidentId/resolve')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'resolveIncident',
    summary:
      'Resolve an incident by hand: its command is settled, never carried out again (an invoked one completes with the given output)',
  })
  @INCIDENT_ID_PARAM
  @ApiBody({ type: ResolveIncidentBody })
  @ApiResponse({
    status: 200,
    description: 'Recorded now, or before (`replayed`)',
    type: IncidentDecisionResponse,
  })
  @ApiProblems(...RESOLVE_PROBLEMS)
  async resolve(
    @Param('incidentId') incidentId: string,
    @Body() body: unknown,
    @Req() request: object,
  ): Promise<IncidentDecisionResponse> {
    checkId(incidentId, 'incidentId');
    return this.decide(
      incidentId,
      'manual',
      parseResolveIncidentBody(body),
      principalOf(request).id,
    );
  }

  /**
   * Records `resolution` of the incident whose command the queue finds by its id: open, or
   * closed already (retried, resolved), which the engine answers `replayed`, whatever the
   * decision asked for now. An incident its command has had another one since is not found.
   */
  private async decide(
    incidentId: string,
    resolution: IncidentResolution,
    call: IncidentCall,
    /** Who asked (the request's principal): the fact's actor, and its resolvedBy unless given. */
    operator: string,
  ): Promise<IncidentDecisionResponse> {
    const [command] = (await this.queue.list({ incidentId, limit: 1 })).commands;
    if (!command) throw incidentNotFound(incidentId);
    const result = await this.engine.commands.resolveIncident({
      workflow: command.workflow,
      id: command.instanceId,
      incidentId,
      resolution,
      ...(call.note === undefined ? {} : { note: call.note }),
      resolvedBy: call.resolvedBy ?? operator,
      actor: operator,
      ...(call.output === undefined ? {} : { output: call.output }),
    });
    if (!result.ok) rejected(result.rejection);
    const outcome = result.value;
    if (outcome.outcome === 'notInFlight')
      throw incidentNotFound(
        incidentId,
        `its command ${command.commandId} was settled otherwise while it was open (completed, failed or withdrawn)`,
      );
    return {
      outcome: outcome.outcome,
      incidentId,
      commandId: command.commandId,
      instance: instanceView(outcome.instance),
    };
  }
}
