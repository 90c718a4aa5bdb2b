import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const fromRepo = (id: string) => JSON.stringify(require.resolve(id, { paths: [root] }));

/**
 * Writes an `esflow.config.js` to `file` that registers orderFulfillment `version` only, its
 * machine's states changed by `change` (JavaScript source run on `states`, a copy of the
 * example's, with xstate's `assign` in scope) and its initial state `initial`: the changed
 * definitions a developer is about to deploy, for the CLI's replay test and version gate.
 */
export function writeChangedOrderConfig(
  file: string,
  options: { readonly version: number; readonly change: string; readonly initial?: string },
): void {
  writeFileSync(
    file,
    `const { assign, createMachine } = require(${fromRepo('xstate')});
const { defineFeature, defineWorkflow } = require(${fromRepo('@esflow/core')});
const example = require(${fromRepo('@esflow/example-order-fulfillment')});
const config = example.orderFulfillmentMachine.config;
const states = { ...config.states };
${options.change}
const machine = createMachine(
  { ...config, initial: ${JSON.stringify(options.initial ?? 'awaitingPayment')}, states },
  example.orderFulfillmentMachine.implementations,
);
const definition = defineWorkflow({
  name: 'orderFulfillment',
  version: ${options.version},
  machine,
  startEvent: 'OrderPlaced',
  commands: ['RefundPayment'],
  instanceIdFrom: example.orderFulfillment.instanceIdFrom,
  correlationKeys: example.orderFulfillment.correlationKeys,
});
module.exports = {
  features: [defineFeature({ workflows: [definition], schemas: example.ORDER_FULFILLMENT_SCHEMAS })],
};
`,
  );
}
