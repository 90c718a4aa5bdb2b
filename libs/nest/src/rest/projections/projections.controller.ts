import { Controller, Get, HttpCode, Inject, Param, Post, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ResolvedEsflowOptions } from '../../esflow-module-options';
import { ESFLOW_OPTIONS, PROJECTIONS, READ_MODEL_QUERIES, READ_MODEL_STORE } from '../../tokens';
import {
  ErrorCode,
  EsflowError,
  formatPosition,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionRequestKind,
  ProjectionStatus,
  ReadModelStore,
  ReadModelQueries,
} from '@esflow/core';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { ProblemResponse } from '../workflows/workflow.dto';

/**
 * Projection status and operator actions. The api only records requests; the projector that
 * holds a projection's lease carries them out (or `npm run projections -- rebuild` does).
 */
@ApiTags('projections')
@UseFilters(ProblemDetailsFilter)
@Controller()
export class ProjectionsController {
  constructor(
    @Inject(READ_MODEL_STORE) private readonly readModel: ReadModelStore,
    @Inject(READ_MODEL_QUERIES) private readonly queries: ReadModelQueries,
    @Inject(PROJECTIONS) private readonly definitions: readonly ProjectionDefinition[],
    @Inject(ESFLOW_OPTIONS) private readonly options: ResolvedEsflowOptions,
  ) {}

  @Get('projections')
  @ApiOperation({
    summary:
      'Every projection: status (live, catchingUp, rebuilding, stopped), position, lag, error',
  })
  async list() {
    const records = new Map(
      (await this.readModel.records()).map((record) => [record.name, record]),
    );
    return {
      projections: await Promise.all(
        this.definitions.map((d) => this.describe(d, records.get(d.name))),
      ),
    };
  }

  @Post('projections/:name/rebuild')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Rebuild by replaying all events into a shadow copy, then swap; queries keep answering meanwhile',
  })
  @ApiResponse({ status: 404, description: 'PROJECTION_NOT_FOUND', type: ProblemResponse })
  @ApiResponse({ status: 409, description: 'REBUILD_IN_PROGRESS', type: ProblemResponse })
  async rebuild(@Param('name') name: string) {
    this.definition(name);
    const record = await this.readModel.record(name);
    const pending = await this.readModel.pendingRequests(name);
    if (
      record?.rebuild ||
      pending.some((request) => request.kind === ProjectionRequestKind.Rebuild)
    )
      throw new EsflowError(
        ErrorCode.RebuildInProgress,
        `projection ${name} is already being rebuilt`,
        {
          details: { projection: name },
        },
      );
    await this.readModel.request(name, ProjectionRequestKind.Rebuild);
    return { name, status: 'rebuildRequested' };
  }

  @Post('projections/:name/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Retry the event a stopped projection failed on' })
  async retry(@Param('name') name: string) {
    return this.actOnFailure(name, ProjectionRequestKind.Retry);
  }

  @Post('projections/:name/skip')
  @HttpCode(202)
  @ApiOperation({ summary: 'Skip the event a stopped projection failed on; the skip is recorded' })
  async skip(@Param('name') name: string) {
    return this.actOnFailure(name, ProjectionRequestKind.Skip);
  }

  @Get('stats')
  @ApiOperation({
    summary:
      'Instances by workflow and state, and definition versions in use (from the read model)',
  })
  async stats() {
    const counts = await this.queries.stateCounts();
    const workflows: Record<string, { total: number; byState: Record<string, number> }> = {};
    for (const { workflow, state, count } of counts) {
      const entry = (workflows[workflow] ??= { total: 0, byState: {} });
      entry.total += count;
      entry.byState[typeof state === 'string' ? state : JSON.stringify(state)] = count;
    }
    return { workflows, definitionVersions: await this.queries.definitionVersions() };
  }

  private definition(name: string): ProjectionDefinition {
    const definition = this.definitions.find((d) => d.name === name);
    if (!definition)
      throw new EsflowError(
        ErrorCode.ProjectionNotFound,
        `no projection named ${name}; known: ${this.definitions.map((d) => d.name).join(', ')}`,
      );
    return definition;
  }

  private async actOnFailure(name: string, kind: ProjectionRequestKind) {
    this.definition(name);
    const record = await this.readModel.record(name);
    if (!record?.failure)
      throw new EsflowError(
        ErrorCode.ProjectionNotStopped,
        `projection ${name} has not stopped on a failed event`,
      );
    await this.readModel.request(name, kind);
    return { name, status: `${kind}Requested`, event: record.failure };
  }

  private async describe(definition: ProjectionDefinition, record: ProjectionRecord | undefined) {
    if (!record)
      return {
        name: definition.name,
        status: ProjectionStatus.Stopped,
        position: null,
        lag: null,
        error: 'not started yet: no projector has run it',
      };
    const checkpoint = await this.readModel.checkpoint(record.name, record.activeGeneration);
    const silentFor = record.heartbeatAt ? Date.now() - Date.parse(record.heartbeatAt) : Infinity;
    const abandoned = silentFor > 3 * this.options.projections.leaseMs;
    const rebuildCheckpoint = record.rebuild
      ? await this.readModel.checkpoint(record.name, record.rebuild.generation)
      : undefined;
    return {
      name: record.name,
      status: abandoned ? ProjectionStatus.Stopped : record.status,
      version: record.version,
      generation: record.activeGeneration,
      position: checkpoint ? formatPosition(checkpoint.position) : null,
      eventsApplied: checkpoint?.eventsApplied ?? 0,
      lag: record.lag,
      ...(record.failure
        ? { error: record.failure }
        : abandoned
          ? { error: `no projector has reported for ${Math.round(silentFor / 1000)} s` }
          : {}),
      ...(record.rebuild
        ? { rebuild: { ...record.rebuild, applied: rebuildCheckpoint?.eventsApplied ?? 0 } }
        : {}),
      heartbeatAt: record.heartbeatAt,
    };
  }
}
