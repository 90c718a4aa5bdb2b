import { Controller, Get, Query } from '@nestjs/common';
import { ProjectionQueries } from '@esflow/nest';
import { AwaitingKycDocument, awaitingKyc } from './awaiting-kyc.projection';

/** The example's own read endpoint, over its own projection. */
@Controller('onboardings')
export class OnboardingsController {
  constructor(private readonly projections: ProjectionQueries) {}

  /** Onboardings waiting for their KYC verdict, optionally of one country, oldest id first. */
  @Get('awaiting-kyc')
  async awaitingKyc(@Query('country') country?: string) {
    const items = await this.projections.find<AwaitingKycDocument>(awaitingKyc, 'onboardings', {
      ...(country ? { where: { country } } : {}),
      limit: 100,
    });
    return { items };
  }
}
