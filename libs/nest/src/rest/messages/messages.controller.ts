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
  ErrorCode,
  EsflowError,
  MESSAGE_STATUSES,
  MessageCorrelator,
  MessageIndex,
  MessageOutcome,
} from '@esflow/core';
import { MESSAGE_CORRELATOR, MESSAGE_INDEX } from '../../tokens';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { ApiPageQuery } from '../http/paging';
import { checkId, rejected } from '../http/request-parsing';
import { principalOf } from '../http/principal';
import { requestTraceContext } from '../../tracing/http-tracing';
import {
  ApiEdgeProblemModels,
  ApiProblems,
  BODY_EDGE_CODES,
  FAULT_CODES,
} from '../openapi/problems';
import {
  parseDiscardMessageBody,
  parseMessageBody,
  parseMessageQuery,
  parseRetryMessageBody,
} from './message-requests';
import {
  DiscardMessageBody,
  MessageDetailsResponse,
  MessageOutcomeResponse,
  MessagePageResponse,
  RetryMessageBody,
  SendMessageBody,
} from './messages.dto';

const MESSAGE_ID_PARAM = ApiParam({
  name: 'messageId',
  description: "The sender's message id",
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$' },
});

const OPERATOR_PROBLEMS = [
  ...BODY_EDGE_CODES,
  ErrorCode.InvalidId,
  ErrorCode.MessageNotFound,
  ErrorCode.MessageSettled,
  ...FAULT_CODES,
] as const;

/**
 * The messages API: other services tell workflows what happened (`POST /messages`, correlated to
 * instances by key; every outcome durable before it is answered), and operators see the
 * buffered, quarantined and late ones and retry or discard them, each action recorded in the
 * message's stream.
 */
@ApiTags('messages')
@ApiEdgeProblemModels()
@UseFilters(ProblemDetailsFilter)
@Controller('messages')
export class MessagesController {
  constructor(
    @Inject(MESSAGE_CORRELATOR) private readonly correlator: MessageCorrelator,
    @Inject(MESSAGE_INDEX) private readonly index: MessageIndex,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sendMessage',
    summary: 'Send a message: delivered, started, buffered, duplicate, late or quarantined',
    description:
      "Correlates the message by its key with the instances that declare it: delivered (in one append) when exactly one accepts it now; buffered when none exists yet or none accepts it yet (delivered, in arrival order, when one does; quarantined NO_MATCHING_INSTANCE when its time-to-live runs out first); quarantined AMBIGUOUS_CORRELATION when several accept it; the workflow's late policy when every one has moved past the states that accept it. A start message starts the instance whose id is its key. A repeated messageId is answered `duplicate` with where the first stands. The outcome is durable when it is answered.",
  })
  @ApiBody({ type: SendMessageBody })
  @ApiResponse({ status: 202, description: 'What came of it', type: MessageOutcomeResponse })
  @ApiProblems(
    ...BODY_EDGE_CODES,
    ErrorCode.InvalidId,
    ErrorCode.UnknownMessage,
    ErrorCode.SchemaValidationFailed,
    ...FAULT_CODES,
  )
  async send(@Body() body: unknown, @Req() request: object): Promise<MessageOutcome> {
    const call = parseMessageBody(body);
    const traceContext = requestTraceContext(request);
    const result = await this.correlator.receive({
      name: call.name,
      correlationKey: call.correlationKey,
      messageId: call.messageId,
      payload: call.payload,
      ...(call.ttlSeconds === undefined ? {} : { ttlSeconds: call.ttlSeconds }),
      source: { kind: 'rest' },
      ...(traceContext ? { traceContext } : {}),
      actor: principalOf(request).id,
    });
    if (!result.ok) rejected(result.rejection);
    return result.value;
  }

  @Get()
  @ApiOperation({
    operationId: 'listMessages',
    summary: 'List messages by status, name, key (cursor pagination, arrival order)',
    description:
      'Reads the message index: eventually consistent with the message streams (a message just answered may take a moment to appear; `GET /messages/{messageId}` reads its stream). Unknown query parameters are 400.',
  })
  @ApiQuery({
    name: 'status',
    required: false,
    schema: { type: 'string', enum: [...MESSAGE_STATUSES] },
  })
  @ApiQuery({ name: 'name', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'correlationKey', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'workflow', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'instance_id', required: false, schema: { type: 'string' } })
  @ApiPageQuery()
  @ApiResponse({
    status: 200,
    description: 'One page, in arrival order',
    type: MessagePageResponse,
  })
  @ApiProblems(ErrorCode.MalformedRequest, ...FAULT_CODES)
  async list(@Query() query: Record<string, unknown>): Promise<MessagePageResponse> {
    const call = parseMessageQuery(query);
    const page = await this.index.list({
      limit: call.limit,
      ...(call.status ? { status: call.status } : {}),
      ...(call.name ? { name: call.name } : {}),
      ...(call.correlationKey ? { correlationKey: call.correlationKey } : {}),
      ...(call.workflow ? { workflow: call.workflow } : {}),
      ...(call.instance_id ? { instanceId: call.instance_id } : {}),
      ...(call.after ? { after: call.after } : {}),
    });
    return { messages: [...page.messages], ...(page.next ? { next: page.next } : {}) };
  }

  @Get(':messageId')
  @ApiOperation({
    operationId: 'getMessage',
    summary: 'A message with its payload, its source and every attempt with its outcome',
  })
  @MESSAGE_ID_PARAM
  @ApiResponse({ status: 200, description: 'The message', type: MessageDetailsResponse })
  @ApiProblems(ErrorCode.InvalidId, ErrorCode.MessageNotFound, ...FAULT_CODES)
  async get(@Param('messageId') messageId: string): Promise<MessageDetailsResponse> {
    checkId(messageId, 'messageId');
    const details = await this.correlator.details(messageId);
    if (!details)
      throw new EsflowError(
        ErrorCode.MessageNotFound,
        `no message ${messageId} was received (one delivered at once is indexed a moment after)`,
        { details: { messageId } },
      );
    return details as unknown as MessageDetailsResponse;
  }

  @Post(':messageId/retry')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'retryMessage',
    summary: 'Correlate a buffered, quarantined or late message again, now (recorded)',
  })
  @MESSAGE_ID_PARAM
  @ApiBody({ type: RetryMessageBody, required: false })
  @ApiResponse({ status: 200, description: 'What came of it now', type: MessageOutcomeResponse })
  @ApiProblems(...OPERATOR_PROBLEMS)
  async retry(
    @Param('messageId') messageId: string,
    @Body() body: unknown,
    @Req() request: object,
  ): Promise<MessageOutcome> {
    checkId(messageId, 'messageId');
    const call = parseRetryMessageBody(body);
    // The operator is the request's principal unless the body names someone.
    const by = call.by ?? principalOf(request).id;
    const result = await this.correlator.correlateAgain(messageId, 'retry', by);
    if (!result.ok) rejected(result.rejection);
    return result.value;
  }

  @Post(':messageId/discard')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'discardMessage',
    summary: 'Discard a buffered, quarantined or late message for good, with a reason (recorded)',
  })
  @MESSAGE_ID_PARAM
  @ApiBody({ type: DiscardMessageBody })
  @ApiResponse({ status: 200, description: 'Discarded', type: MessageOutcomeResponse })
  @ApiProblems(...OPERATOR_PROBLEMS)
  async discard(
    @Param('messageId') messageId: string,
    @Body() body: unknown,
    @Req() request: object,
  ): Promise<MessageOutcome> {
    checkId(messageId, 'messageId');
    const call = parseDiscardMessageBody(body);
    const by = call.by ?? principalOf(request).id;
    const result = await this.correlator.discard(messageId, call.reason, by);
    if (!result.ok) rejected(result.rejection);
    return result.value;
  }
}
