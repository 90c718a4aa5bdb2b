/**
 * @esflow/ui — esflow's debugger UI, served by the api under `/ui`: instances, state charts,
 * timelines, workflows, projections and the operator actions.
 * @packageDocumentation
 */
export { EsflowUiModule } from './esflow-ui.module';
export { TIMELINE_PAGE_SIZE } from './ui.controller';
export { layoutStateChart, renderStateChart, activeStateIds } from './chart/state-chart';
export type { StateChartLayout, ChartNode, ChartEdge, ChartMarks } from './chart/state-chart';
