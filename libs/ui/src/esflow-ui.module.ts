import { Module } from '@nestjs/common';
import { ProjectionStatuses } from '@esflow/nest';
import { UiController } from './ui.controller';

/**
 * esflow's debugger UI under `/ui`: import it beside `EsflowModule.forRoot` and
 * `EsflowRestModule` (its actions call the REST API). Every asset is served by esflow itself;
 * pages read without JavaScript. With access control on, its pages need the `reader` role and
 * its actions what the REST routes they call need.
 */
@Module({ controllers: [UiController], providers: [ProjectionStatuses] })
export class EsflowUiModule {}
