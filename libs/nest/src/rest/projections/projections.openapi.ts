import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import { ErrorCode } from '@esflow/core';
import { ApiProblems, BODY_EDGE_CODES, FAULT_CODES } from '../openapi/problems';
import {
  FailureActionResponse,
  ProjectionFailureResponse,
  ProjectionListResponse,
  RebuildRequestedResponse,
  StatsResponse,
  WorkflowStatsResponse,
} from './projection.dto';

/**
 * The OpenAPI description of the projection and stats operations, one decorator per operation,
 * kept beside the controller so that its file carries only one line per operation for them.
 */

const NAME_PARAM = ApiParam({
  name: 'name',
  description: 'A projection name, as `GET /projections` lists them',
  schema: { type: 'string', example: 'instances' },
});

/**
 * The operator actions take no input, but like every state-changing request they must say
 * `Content-Type: application/json` (so that no web form can send them): a JSON body, if any, is
 * read and ignored.
 */
const IGNORED_BODY = ApiBody({
  required: false,
  description:
    'Ignored; send none (or `{}`), but always with `Content-Type: application/json`, else 415',
  schema: { type: 'object', additionalProperties: true, example: {} },
});

/** `GET /projections`. */
export const ApiListProjections = () =>
  applyDecorators(
    ApiOperation({
      operationId: 'listProjections',
      summary:
        'Every projection: status (live, catchingUp, rebuilding, stopped), position, lag, error',
    }),
    ApiExtraModels(ProjectionFailureResponse),
    ApiResponse({
      status: 200,
      description: 'Every registered projection, as its projector last recorded it',
      type: ProjectionListResponse,
    }),
    ApiProblems(...FAULT_CODES),
  );

/** `POST /projections/{name}/rebuild`. */
export const ApiRebuildProjection = () =>
  applyDecorators(
    ApiOperation({
      operationId: 'rebuildProjection',
      summary:
        'Rebuild by replaying all events into a shadow copy, then swap; queries keep answering meanwhile',
      description:
        'Records the request; the projector holding the projection carries it out (watch `GET /projections`).',
    }),
    NAME_PARAM,
    IGNORED_BODY,
    ApiResponse({ status: 202, description: 'Requested', type: RebuildRequestedResponse }),
    ApiProblems(
      ...BODY_EDGE_CODES,
      ErrorCode.ProjectionNotFound,
      ErrorCode.RebuildInProgress,
      ErrorCode.RebuildTooSoon,
      ...FAULT_CODES,
    ),
  );

const failureAction = (operationId: string, summary: string, kind: string) =>
  applyDecorators(
    ApiOperation({
      operationId,
      summary,
      description:
        'Records the request; the projector holding the projection carries it out (watch `GET /projections`).',
    }),
    NAME_PARAM,
    IGNORED_BODY,
    ApiResponse({
      status: 202,
      description: `Requested: \`status\` is \`${kind}Requested\`, \`event\` the event it stopped on`,
      type: FailureActionResponse,
    }),
    ApiProblems(
      ...BODY_EDGE_CODES,
      ErrorCode.ProjectionNotFound,
      ErrorCode.ProjectionNotStopped,
      ErrorCode.ProjectionRequestPending,
      ...FAULT_CODES,
    ),
  );

/** `POST /projections/{name}/retry`. */
export const ApiRetryProjection = () =>
  failureAction('retryProjection', 'Retry the event a stopped projection failed on', 'retry');

/** `POST /projections/{name}/skip`. */
export const ApiSkipProjection = () =>
  failureAction(
    'skipProjection',
    'Skip the event a stopped projection failed on; the skip is recorded',
    'skip',
  );

/** `GET /stats`. */
export const ApiStats = () =>
  applyDecorators(
    ApiOperation({
      operationId: 'getStats',
      summary:
        'Instances by workflow and state, and definition versions in use (from the read model)',
    }),
    ApiExtraModels(WorkflowStatsResponse),
    ApiResponse({
      status: 200,
      description: "From the projector's read models: eventually consistent",
      type: StatsResponse,
    }),
    ApiProblems(...FAULT_CODES),
  );
