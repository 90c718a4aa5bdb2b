import { join } from 'node:path';
import { defineFeature } from '@esflow/core';
import { orderFulfillment } from './order-fulfillment.workflow';

/** This module's schemas: `schemas/` beside `src/` (and beside `dist/` once built). */
export const ORDER_FULFILLMENT_SCHEMAS = join(__dirname, '..', 'schemas');

/** Everything orderFulfillment brings to an application; `esflow.config.js` lists it too. */
export const orderFulfillmentFeature = defineFeature({
  workflows: [orderFulfillment],
  schemas: ORDER_FULFILLMENT_SCHEMAS,
});
