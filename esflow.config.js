// What the `esflow` command sees in this repository: the example workflows, exactly as the
// bundled api and projector register them (npm run build first; `npm run esflow` does).
const { defineConfig } = require('@esflow/cli');
const { orderFulfillmentFeature } = require('@esflow/example-order-fulfillment');
const { kycOnboardingFeature } = require('@esflow/example-kyc-onboarding');

module.exports = defineConfig({
  features: [orderFulfillmentFeature, kycOnboardingFeature],
  lockFile: 'schemas/avro/schemas.lock.json',
});
