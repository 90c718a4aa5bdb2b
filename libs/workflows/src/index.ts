import { WorkflowDefinition } from '@esflow/domain';
import { orderFulfillment } from './order-fulfillment/order-fulfillment.workflow';

export * from './order-fulfillment/order-fulfillment.workflow';
export * from './order-fulfillment/order-fulfillment.events';

/** The workflow definitions esflow runs by default. */
export const builtInWorkflows: readonly WorkflowDefinition[] = [orderFulfillment];
export * from './order-fulfillment/sample-traffic';
