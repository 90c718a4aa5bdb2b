import { Module } from '@nestjs/common';
import { ProjectionsService } from './projections.service';

/**
 * Runs the application's projections in this process (the bundled projector host imports it;
 * a small service may import it beside `EsflowRestModule`). Needs `EsflowModule.forRoot`.
 * Inject {@link ProjectionsService} for their status.
 */
@Module({ providers: [ProjectionsService], exports: [ProjectionsService] })
export class EsflowProjectorModule {}
