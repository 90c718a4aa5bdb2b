import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ProjectionQueries } from '@esflow/nest';
import { AwaitingKycDocument, awaitingKyc } from './awaiting-kyc.projection';

/** The example's own read endpoint, over its own projection. */
@ApiTags('onboardings')
@Controller('onboardings')
export class OnboardingsController {
  constructor(private readonly projections: ProjectionQueries) {}

  /** Onboardings waiting for their KYC verdict, optionally of one country, oldest id first. */
  @Get('awaiting-kyc')
  @ApiOperation({
    operationId: 'listOnboardingsAwaitingKyc',
    summary: 'Onboardings waiting for their KYC verdict (at most 100), from the read model',
  })
  @ApiQuery({
    name: 'country',
    required: false,
    description: 'Only users of this country (ISO 3166-1 alpha-2)',
    schema: { type: 'string', example: 'DE' },
  })
  @ApiOkResponse({
    description: 'The onboardings, oldest id first',
    schema: {
      type: 'object',
      required: ['items'],
      additionalProperties: false,
      properties: {
        items: {
          type: 'array',
          maxItems: 100,
          items: {
            type: 'object',
            required: ['userId', 'email', 'country', 'since'],
            additionalProperties: false,
            properties: {
              userId: { type: 'string' },
              email: { type: 'string' },
              country: { type: 'string' },
              since: {
                type: 'string',
                format: 'date-time',
                description: 'When the user signed up',
              },
            },
          },
        },
      },
    },
  })
  async awaitingKyc(@Query('country') country?: string): Promise<{ items: AwaitingKycDocument[] }> {
    const items = await this.projections.find<AwaitingKycDocument>(awaitingKyc, 'onboardings', {
      ...(country ? { where: { country } } : {}),
      limit: 100,
    });
    return { items };
  }
}
