import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorCode, EsflowError, WorkflowCatalog } from '@esflow/core';
import { MigrationBatches } from '../../migrations/migration-batches';
import { WORKFLOW_CATALOG } from '../../tokens';
import { principalOf } from '../http/principal';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { checkId, rejected } from '../http/request-parsing';
import {
  ApiEdgeProblemModels,
  ApiProblems,
  BODY_EDGE_CODES,
  FAULT_CODES,
} from '../openapi/problems';
import { MigrationBatchBody, MigrationBatchResponse } from './migration.dto';
import { parseMigrationBatchBody } from './workflow-requests';

const MIGRATION_ID_PATTERN = '^[A-Za-z0-9._:-]{1,200}$';

/** `Location` of a batch migration's progress. */
const MIGRATION_LOCATION_HEADER = {
  description: 'Where its progress is read: `/migrations/{migrationId}`',
  required: true,
  schema: { type: 'string', format: 'uri-reference', pattern: '^/migrations/[^/]+$' },
};

/**
 * Batch migrations: every running instance of a workflow that a filter takes, moved to another
 * definition version one at a time (each as `POST /workflows/{workflow}/{id}/migrate` would),
 * with the batch's progress kept in this api process.
 */
@ApiTags('workflows')
@ApiEdgeProblemModels()
@UseFilters(ProblemDetailsFilter)
@Controller()
export class MigrationsController {
  constructor(
    @Inject(MigrationBatches) private readonly batches: MigrationBatches,
    @Inject(WORKFLOW_CATALOG) private readonly catalog: WorkflowCatalog,
  ) {}

  @Post('workflows/:workflow/migrations')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'startMigrationBatch',
    summary:
      'Migrate every running instance a filter takes to another version (an operator action)',
    description:
      "Selects the running instances of the workflow on `filter.fromVersion` (in `filter.state` or a state below it, their id starting with `filter.idPrefix`) from the `instances` read model, so eventually consistently, then migrates them one at a time as `POST /workflows/{workflow}/{id}/migrate` does with the same fields, each its own recorded step. Answers at once; read the progress at `Location`. The progress is kept in this api process only: a restart loses the batch's report (and stops it between two instances), never a migration. Run again, a batch skips the instances it migrated (they are on the target already). A dry run plans and checks each instance and writes nothing. A target version that is not registered, or the same as `fromVersion`, is refused before anything runs.",
  })
  @ApiParam({
    name: 'workflow',
    description: 'A registered workflow name, e.g. `orderFulfillment`',
    schema: { type: 'string', pattern: MIGRATION_ID_PATTERN, example: 'orderFulfillment' },
  })
  @ApiBody({ type: MigrationBatchBody })
  @ApiResponse({
    status: 202,
    description: 'Started: its progress so far (`running`)',
    type: MigrationBatchResponse,
    headers: { Location: MIGRATION_LOCATION_HEADER },
  })
  @ApiProblems(
    ...BODY_EDGE_CODES,
    ErrorCode.InvalidId,
    ErrorCode.WorkflowNotFound,
    ErrorCode.MigrationRefused,
    ...FAULT_CODES,
  )
  start(
    @Param('workflow') workflow: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): MigrationBatchResponse {
    checkId(workflow, 'workflow');
    const request = parseMigrationBatchBody(body);
    if (!this.catalog.latest(workflow))
      rejected({
        code: ErrorCode.WorkflowNotFound,
        message: `no workflow named ${workflow}; known: ${this.catalog.names().join(', ')}`,
        workflow,
      });
    const { filter, toVersion } = request;
    const refusal = this.targetProblem(workflow, filter.fromVersion, toVersion);
    if (refusal)
      rejected({
        code: ErrorCode.MigrationRefused,
        message: `${workflow} instances cannot be migrated from v${filter.fromVersion} to v${toVersion}: ${refusal}`,
        fromVersion: filter.fromVersion,
        toVersion,
        errors: [{ path: 'toVersion', message: refusal }],
      });
    const progress = this.batches.start({
      ...request,
      workflow,
      dryRun: request.dryRun ?? false,
      operator: principalOf(response.req).id,
    });
    response.setHeader('Location', `/migrations/${progress.migrationId}`);
    return progress;
  }

  @Get('migrations/:migrationId')
  @ApiOperation({
    operationId: 'getMigrationBatch',
    summary: "A batch migration's progress",
    description:
      'As this api process keeps it (in memory, the last 100 batches): another api instance, or this one after a restart, does not know the batch.',
  })
  @ApiParam({
    name: 'migrationId',
    description: 'The `migrationId` the batch was started with',
    schema: { type: 'string', pattern: MIGRATION_ID_PATTERN },
  })
  @ApiResponse({ status: 200, description: 'Its progress', type: MigrationBatchResponse })
  @ApiProblems(ErrorCode.InvalidId, ErrorCode.NotFound, ...FAULT_CODES)
  progress(@Param('migrationId') migrationId: string): MigrationBatchResponse {
    checkId(migrationId, 'migrationId');
    const progress = this.batches.progress(migrationId);
    if (!progress)
      throw new EsflowError(
        ErrorCode.NotFound,
        `this api process knows no batch migration ${migrationId} (batches are kept in memory: a restart forgets them, and another api instance does not know them)`,
        { details: { migrationId } },
      );
    return progress;
  }

  /** Why a batch cannot target `toVersion`, or undefined when it can. */
  private targetProblem(workflow: string, fromVersion: number, toVersion: number) {
    if (!this.catalog.version(workflow, toVersion)) {
      const registered = this.catalog
        .all()
        .filter((definition) => definition.name === workflow)
        .map((definition) => `v${definition.version}`)
        .sort()
        .join(', ');
      return `${workflow} v${toVersion} is not registered (registered: ${registered})`;
    }
    if (toVersion === fromVersion)
      return `the instances run on v${toVersion} already (it is filter.fromVersion)`;
    return undefined;
  }
}
