// What the `esflow` command sees in this repository: the example workflows as the bundled api
// and projector register them (npm run build first; `npm run esflow` does), with every version
// of orderFulfillment (v1 and v2), of which the apps register those ORDER_FULFILLMENT_VERSIONS
// selects: the schema gate, the replay test and the deploy gate see every version they may run.
const { defineConfig } = require('@esflow/cli');
const { orderFulfillmentFeatureOf } = require('@esflow/example-order-fulfillment');
const { kycOnboardingFeature } = require('@esflow/example-kyc-onboarding');

module.exports = defineConfig({
  features: [orderFulfillmentFeatureOf([1, 2]), kycOnboardingFeature],
  lockFile: 'schemas/avro/schemas.lock.json',
});
