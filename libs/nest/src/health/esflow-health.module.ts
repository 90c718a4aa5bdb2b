import { Module, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, TerminusModule } from '@nestjs/terminus';
import type { Response } from 'express';
import { EsflowHealthIndicators } from './esflow-health.indicators';

/**
 * The health checks of `@nestjs/terminus` with esflow's {@link EsflowHealthIndicators}: import it in the module whose
 * controller serves `/health/live` and `/health/ready` (needs `EsflowModule.forRoot`).
 * Terminus's own error log is off: a failing check is in the answer, and the indicators'
 * dependencies log their own outages once.
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  providers: [EsflowHealthIndicators],
  exports: [TerminusModule, EsflowHealthIndicators],
})
export class EsflowHealthModule {}

/**
 * Runs a terminus health check and answers its result as it is, also when a check is down:
 * status 503 with the same `{ status: 'error', info, error, details }` body (terminus throws
 * that as a `ServiceUnavailableException`, which a global problem-details filter would turn
 * into a problem and lose the details). Any other error is thrown on.
 */
export async function answerHealthCheck(
  response: Response,
  check: () => Promise<HealthCheckResult>,
): Promise<HealthCheckResult> {
  try {
    return await check();
  } catch (error) {
    if (!(error instanceof ServiceUnavailableException)) throw error;
    response.status(503);
    return error.getResponse() as HealthCheckResult;
  }
}
