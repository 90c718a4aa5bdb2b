import { Controller, Get, HttpCode, Inject, Param, Post, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ProjectionStatuses } from '../../projections/projection-statuses';
import { PROJECTIONS, READ_MODEL_QUERIES, READ_MODEL_STORE } from '../../tokens';
import {
  ErrorCode,
  EsflowError,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionRequestKind,
  ReadModelStore,
  ReadModelQueries,
} from '@esflow/core';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { ESFLOW_REST_OPTIONS, ResolvedRestOptions } from '../rest-options';
import {
  ApiListProjections,
  ApiRebuildProjection,
  ApiRetryProjection,
  ApiSkipProjection,
  ApiStats,
} from './projections.openapi';

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
    private readonly statuses: ProjectionStatuses,
    @Inject(ESFLOW_REST_OPTIONS) private readonly rest: ResolvedRestOptions,
  ) {}

  @Get('projections')
  @ApiListProjections()
  async list() {
    return { projections: await this.statuses.list() };
  }

  @Post('projections/:name/rebuild')
  @HttpCode(202)
  @ApiRebuildProjection()
  async rebuild(@Param('name') name: string) {
    this.definition(name);
    const record = await this.readModel.record(name);
    this.refuseIfRebuiltMomentsAgo(name, record);
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
  @ApiRetryProjection()
  async retry(@Param('name') name: string) {
    return this.actOnFailure(name, ProjectionRequestKind.Retry);
  }

  @Post('projections/:name/skip')
  @HttpCode(202)
  @ApiSkipProjection()
  async skip(@Param('name') name: string) {
    return this.actOnFailure(name, ProjectionRequestKind.Skip);
  }

  @Get('stats')
  @ApiStats()
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

  /**
   * A rebuild replays the whole log: one asked for again moments after the last finished is
   * almost always a double click or a script in a loop, so it waits out the cooldown.
   */
  private refuseIfRebuiltMomentsAgo(name: string, record: ProjectionRecord | undefined): void {
    if (!record?.rebuiltAt || this.rest.rebuildCooldownMs === 0) return;
    const since = Date.now() - Date.parse(record.rebuiltAt);
    const wait = this.rest.rebuildCooldownMs - since;
    if (wait <= 0) return;
    const retryAfterSeconds = Math.ceil(wait / 1000);
    throw new EsflowError(
      ErrorCode.RebuildTooSoon,
      `projection ${name} finished a rebuild ${Math.max(0, Math.round(since / 1000))} s ago; ask again in ${retryAfterSeconds} s`,
      { details: { projection: name, rebuiltAt: record.rebuiltAt, retryAfterSeconds } },
    );
  }

  private async actOnFailure(name: string, kind: ProjectionRequestKind) {
    this.definition(name);
    const record = await this.readModel.record(name);
    if (!record?.failure)
      throw new EsflowError(
        ErrorCode.ProjectionNotStopped,
        `projection ${name} has not stopped on a failed event`,
      );
    // One decision per failed event: a second one queued behind the first would be dropped
    // once the first has settled the failure, after it was acknowledged.
    const pending = (await this.readModel.pendingRequests(name)).find(
      (request) =>
        request.kind === ProjectionRequestKind.Retry || request.kind === ProjectionRequestKind.Skip,
    );
    if (pending)
      throw new EsflowError(
        ErrorCode.ProjectionRequestPending,
        `projection ${name} already has a ${pending.kind} of its failed event waiting to be carried out; ask again once GET /projections shows its outcome`,
        { details: { projection: name, pending: pending.kind } },
      );
    await this.readModel.request(name, kind);
    return { name, status: `${kind}Requested`, event: record.failure };
  }
}
