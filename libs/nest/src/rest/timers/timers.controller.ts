import { pageLimit } from '../http/paging';
import { Controller, Get, Inject, Query, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ErrorCode, TIMER_STATUSES, TimerIndex, TimerQuery, TimerStatus } from '@esflow/core';
import { TIMER_INDEX } from '../../tokens';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { ApiPageQuery } from '../http/paging';
import { parseRequest } from '../workflows/workflow-requests';
import { ApiEdgeProblemModels, ApiProblems, FAULT_CODES } from '../openapi/problems';
import { TimerPageResponse } from './timers.dto';

const timerQuery = z
  .object({
    status: z.enum(TIMER_STATUSES as [TimerStatus, ...TimerStatus[]]).optional(),
    due_before: z
      .string()
      .refine((text) => !Number.isNaN(Date.parse(text)), 'must be an ISO-8601 date-time')
      .transform((text) => new Date(text))
      .optional(),
    workflow: z.string().optional(),
    instance_id: z.string().optional(),
    limit: pageLimit,
    after: z.string().optional(),
  })
  .strict();

/**
 * `GET /timers`: the due-timer index the timer service keeps — every timer the workflows
 * scheduled, pending or settled (fired with its lateness, cancelled, or superseded by the event
 * that won the race), earliest due first. Eventually consistent with the log, like projections.
 */
@ApiTags('timers')
@ApiEdgeProblemModels()
@UseFilters(ProblemDetailsFilter)
@Controller('timers')
export class TimersController {
  constructor(@Inject(TIMER_INDEX) private readonly index: TimerIndex) {}

  @Get()
  @ApiOperation({
    operationId: 'listTimers',
    summary: 'List timers (filter by status, due time, workflow, instance; cursor pagination)',
    description:
      "Reads the timer service's index: eventually consistent with the instances' streams. Unknown query parameters are 400.",
  })
  @ApiQuery({
    name: 'status',
    required: false,
    schema: { type: 'string', enum: [...TIMER_STATUSES] },
  })
  @ApiQuery({
    name: 'due_before',
    required: false,
    description: 'Only timers due strictly before this instant',
    schema: { type: 'string', format: 'date-time' },
  })
  @ApiQuery({ name: 'workflow', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'instance_id', required: false, schema: { type: 'string' } })
  @ApiPageQuery()
  @ApiResponse({
    status: 200,
    description: 'One page, earliest due first',
    type: TimerPageResponse,
  })
  @ApiProblems(ErrorCode.MalformedRequest, ...FAULT_CODES)
  async list(@Query() query: Record<string, unknown>): Promise<TimerPageResponse> {
    const parsed = parseRequest(timerQuery, query, 'the query') as z.infer<typeof timerQuery>;
    const { status, due_before, workflow, instance_id, limit, after } = parsed;
    const request: TimerQuery = {
      limit,
      ...(status ? { status } : {}),
      ...(due_before ? { dueBefore: due_before } : {}),
      ...(workflow ? { workflow } : {}),
      ...(instance_id ? { instanceId: instance_id } : {}),
      ...(after ? { after } : {}),
    };
    const page = await this.index.list(request);
    return { timers: [...page.timers], ...(page.next ? { next: page.next } : {}) };
  }
}
