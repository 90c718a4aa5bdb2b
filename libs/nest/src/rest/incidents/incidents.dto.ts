import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CommandInstanceResponse } from '../commands/commands.dto';
import { MAX_NOTE_LENGTH, MAX_RESOLVED_BY_LENGTH } from '../commands/command-requests';

/** OpenAPI shapes of the incident calls; the checks themselves are in command-requests. */

/** One open incident: a command that failed for good, waiting for an operator. */
export class OpenIncidentResponse {
  @ApiProperty({ description: 'Deterministic: derived from the command and its incident count' })
  incidentId!: string;
  @ApiProperty() commandId!: string;
  @ApiProperty({ example: 'RunKycCheck' }) commandType!: string;
  @ApiProperty({ example: 'kycOnboarding' }) workflow!: string;
  @ApiProperty({ example: 'u-1' }) instanceId!: string;
  @ApiProperty({ type: 'integer', minimum: 0, description: 'How many attempts were made' })
  attempts!: number;
  @ApiProperty({ description: "The last attempt's error, as its worker reported it" })
  error!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "The command's fields" })
  payload!: Record<string, unknown>;
  @ApiProperty({ format: 'date-time', description: 'When its command was dispatched' })
  dispatchedAt!: string;
}

/** One page of open incidents, oldest dispatch first. */
export class IncidentPageResponse {
  @ApiProperty({ type: () => [OpenIncidentResponse] }) incidents!: OpenIncidentResponse[];
  @ApiPropertyOptional({ description: 'Pass as `after` for the next page; absent on the last' })
  next?: string;
}

const RESOLVED_BY = {
  minLength: 1,
  maxLength: MAX_RESOLVED_BY_LENGTH,
  description:
    "Who decided (recorded in the IncidentResolved fact); default: the request's principal (`anonymous` with access control off)",
  example: 'ops@example.com',
};

/** `POST /incidents/{incidentId}/retry`. */
export class RetryIncidentBody {
  @ApiPropertyOptional({
    minLength: 1,
    maxLength: MAX_NOTE_LENGTH,
    description: 'Why, for the record',
    example: 'the KYC provider is back',
  })
  note?: string;
  @ApiPropertyOptional(RESOLVED_BY) resolvedBy?: string;
}

/** `POST /incidents/{incidentId}/resolve`. */
export class ResolveIncidentBody {
  @ApiProperty({
    minLength: 1,
    maxLength: MAX_NOTE_LENGTH,
    description: 'How it was settled outside esflow, for the record',
    example: 'checked by hand: passport verified at the branch',
  })
  note!: string;
  @ApiPropertyOptional(RESOLVED_BY) resolvedBy?: string;
  @ApiPropertyOptional({
    description:
      "For an invoked actor's command: the output it came to by hand, validated against the record its invoke declares (required when it declares one) and delivered to the machine as the invoke's done event, so the invoking state moves on. Refused for an emitted command.",
    oneOf: [
      { type: 'object', additionalProperties: true, nullable: true },
      { type: 'array', items: {} },
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
    ],
  })
  output?: unknown;
}

/** What the incident decisions answer. */
export class IncidentDecisionResponse {
  @ApiProperty({
    enum: ['recorded', 'replayed'],
    description:
      '`recorded`: this call recorded the decision; `replayed`: a decision on this incident was recorded before: nothing new',
  })
  outcome!: 'recorded' | 'replayed';
  @ApiProperty() incidentId!: string;
  @ApiProperty() commandId!: string;
  @ApiProperty({ type: CommandInstanceResponse }) instance!: CommandInstanceResponse;
}
