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
import { ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  InstanceView,
  ReadModelQueries,
  Result,
  WorkflowCatalog,
  WorkflowEngine,
} from '@esflow/core';
import { READ_MODEL_QUERIES, WORKFLOW_CATALOG, WORKFLOW_ENGINE } from '../../tokens';
import {
  checkId,
  etagOf,
  malformed,
  parseIfMatch,
  parseToken,
  rejected,
} from '../http/request-parsing';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { parseListQuery, parseSendBody, parseStartBody } from './workflow-requests';
import {
  HistoryResponse,
  InstanceDetailResponse,
  InstancePageResponse,
  InstanceResponse,
  ProblemResponse,
  SendEventBody,
  StartWorkflowBody,
} from './workflow.dto';

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) rejected(result.rejection);
  return result.value;
}

/** The public fields of an instance after a write (no context: it may be large). */
function summary(instance: InstanceView) {
  const { workflow, id, version, state, status, revision } = instance;
  return { workflow, id, version, state, status, revision };
}

@ApiTags('workflows')
@ApiResponse({
  status: 400,
  description: 'Malformed request, invalid id or schema violation',
  type: ProblemResponse,
})
@UseFilters(ProblemDetailsFilter)
@Controller('workflows')
export class WorkflowsController {
  constructor(
    @Inject(WORKFLOW_ENGINE) private readonly engine: WorkflowEngine,
    @Inject(WORKFLOW_CATALOG) private readonly catalog: WorkflowCatalog,
    @Inject(READ_MODEL_QUERIES) private readonly instances: ReadModelQueries,
  ) {}

  @Post(':workflow')
  @HttpCode(201)
  @ApiOperation({ summary: 'Start a workflow instance with its start event' })
  @ApiBody({ type: StartWorkflowBody })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Repeating a request with the same key returns the first result',
  })
  @ApiResponse({ status: 201, type: InstanceResponse })
  @ApiResponse({ status: 404, description: 'WORKFLOW_NOT_FOUND', type: ProblemResponse })
  @ApiResponse({ status: 409, description: 'INSTANCE_ALREADY_EXISTS', type: ProblemResponse })
  async start(
    @Param('workflow') workflow: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Headers('x-correlation-id') correlationId: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
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
  @ApiOperation({ summary: 'Send an event to an instance' })
  @ApiBody({ type: SendEventBody })
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'Revision the client last saw (the ETag); a stale one is 409',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiResponse({ status: 200, type: InstanceResponse })
  @ApiResponse({ status: 404, description: 'INSTANCE_NOT_FOUND', type: ProblemResponse })
  @ApiResponse({ status: 409, description: 'REVISION_CONFLICT', type: ProblemResponse })
  @ApiResponse({ status: 413, description: 'PAYLOAD_TOO_LARGE', type: ProblemResponse })
  @ApiResponse({
    status: 422,
    description: 'EVENT_NOT_ACCEPTED (with state and acceptedEvents)',
    type: ProblemResponse,
  })
  async send(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Headers('x-correlation-id') correlationId: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
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
      }),
    );
    response.setHeader('ETag', etagOf(outcome.instance.revision));
    if (outcome.replayed) response.setHeader('Idempotent-Replayed', 'true');
    return summary(outcome.instance);
  }

  @Get(':workflow/:id')
  @ApiOperation({ summary: 'Read an instance: state, context and the events it accepts now' })
  @ApiResponse({
    status: 200,
    type: InstanceDetailResponse,
    headers: { ETag: { description: 'The revision' } },
  })
  @ApiResponse({ status: 404, type: ProblemResponse })
  async get(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ) {
    checkId(workflow, 'workflow');
    checkId(id, 'id');
    const instance = unwrap(await this.engine.queries.get(workflow, id));
    response.setHeader('ETag', etagOf(instance.revision));
    return instance;
  }

  @Get(':workflow/:id/history')
  @ApiOperation({ summary: "An instance's events, decoded" })
  @ApiResponse({ status: 200, type: HistoryResponse })
  @ApiResponse({ status: 404, type: ProblemResponse })
  async history(@Param('workflow') workflow: string, @Param('id') id: string) {
    checkId(workflow, 'workflow');
    checkId(id, 'id');
    return { events: unwrap(await this.engine.queries.history(workflow, id)) };
  }

  @Get()
  @ApiOperation({
    summary: 'List instances (filter by workflow, state, status; cursor pagination)',
  })
  @ApiQuery({ name: 'workflow', required: false })
  @ApiQuery({ name: 'state', required: false, description: 'State value; JSON for object states' })
  @ApiQuery({
    name: 'status',
    required: false,
    enum: ['running', 'completed', 'cancelled', 'failed'],
  })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 50' })
  @ApiQuery({ name: 'after', required: false, description: 'Cursor from the previous page' })
  @ApiQuery({
    name: 'waitFor',
    required: false,
    description:
      'Read your own write: `<id>@<revision>` (with `workflow`) waits up to 5 s until the read model has applied that revision; ' +
      'the answer carries `Esflow-Consistency: stale` if it had not',
  })
  @ApiResponse({ status: 200, type: InstancePageResponse })
  async list(
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) response: Response,
  ) {
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
