import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import {
  createMemoryEventStore,
  defineFeature,
  defineProjection,
  defineWorkflow,
  EsflowFeature,
} from '@esflow/core';
import {
  kycOnboarding,
  kycOnboardingFeature,
  KycOnboardingModule,
} from '@esflow/example-kyc-onboarding';
import {
  ORDER_FULFILLMENT_SCHEMAS,
  orderFulfillment,
  orderFulfillmentFeature,
  OrderFulfillmentModule,
} from '@esflow/example-order-fulfillment';
import { createEmbeddedSchemaRegistry, createSqliteReadModelStore } from '@esflow/sqlite';
import { EsflowModule, EsflowModuleOptions, ProjectionQueries, WORKFLOW_CATALOG } from './index';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function adapters(): EsflowModuleOptions {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-module-'));
  dirs.push(dir);
  return {
    store: createMemoryEventStore(),
    registry: createEmbeddedSchemaRegistry({ filename: ':memory:' }),
    readModel: createSqliteReadModelStore({ filename: join(dir, 'readmodel.sqlite') }),
  };
}

/** Boots an application context of these modules; returns it, or the start-up error. */
async function boot(imports: NonNullable<Parameters<typeof Module>[0]>['imports']) {
  @Module({ imports })
  class AppModule {}
  try {
    const app = await NestFactory.createApplicationContext(AppModule, {
      logger: false,
      abortOnError: false,
    });
    return { app, error: undefined };
  } catch (error) {
    return { app: undefined, error: error as Error };
  }
}

describe('EsflowModule', () => {
  it('composes several workflow modules in one application', async () => {
    const { app, error } = await boot([
      EsflowModule.forRoot(adapters()),
      OrderFulfillmentModule,
      KycOnboardingModule,
    ]);
    expect(error).toBeUndefined();
    expect(app!.get(WORKFLOW_CATALOG).names()).toEqual(['kycOnboarding', 'orderFulfillment']);
    await app!.close();
  });

  it('stops start-up when two modules register a workflow of the same name, naming both', async () => {
    // Another definition under the same name (the same feature object twice would count once).
    const legacy = defineFeature({
      workflows: [orderFulfillment],
      schemas: ORDER_FULFILLMENT_SCHEMAS,
    });
    @Module({ imports: [EsflowModule.forFeature(legacy)] })
    class LegacyOrdersModule {}
    const { error } = await boot([
      EsflowModule.forRoot(adapters()),
      OrderFulfillmentModule,
      LegacyOrdersModule,
    ]);
    expect(error?.message).toMatch(
      /workflow orderFulfillment is registered by both (OrderFulfillmentModule and LegacyOrdersModule|LegacyOrdersModule and OrderFulfillmentModule)/,
    );
  });

  it('stops start-up when two modules register a projection of the same name, naming both', async () => {
    const copy = defineProjection({
      name: 'onboardings_awaiting_kyc',
      version: 1,
      workflows: ['kycOnboarding'],
      collections: { onboardings: { indexes: [] } },
      handlers: { UserCreated: () => undefined },
    });
    @Module({
      imports: [EsflowModule.forFeature({ ...orderFulfillmentFeature, projections: [copy] })],
    })
    class ReportingModule {}
    const { error } = await boot([
      EsflowModule.forRoot(adapters()),
      KycOnboardingModule,
      ReportingModule,
    ]);
    expect(error?.message).toMatch(
      /projection onboardings_awaiting_kyc is registered by both (KycOnboardingModule and ReportingModule|ReportingModule and KycOnboardingModule)/,
    );
  });

  it('refuses a projection named like a built-in one', async () => {
    const instances = defineProjection({
      name: 'instances',
      version: 1,
      workflows: ['orderFulfillment'],
      collections: { rows: { indexes: [] } },
      handlers: { OrderPlaced: () => undefined },
    });
    const { error } = await boot([
      EsflowModule.forRoot({
        ...adapters(),
        features: [{ ...orderFulfillmentFeature, projections: [instances] }],
      }),
    ]);
    expect(error?.message).toMatch(
      /projection instances is registered by both esflow \(built in\)/,
    );
  });

  it('names every invalid option at once', async () => {
    const { error } = await boot([
      EsflowModule.forRoot({
        ...adapters(),
        store: undefined as never,
        instanceCacheSize: -1,
        projections: { leaseMs: 10 },
      }),
    ]);
    expect(error?.message).toContain('invalid EsflowModule options');
    expect(error?.message).toContain('store is required, e.g. createSqliteEventStore');
    expect(error?.message).toContain('instanceCacheSize must be a whole number from 0');
    expect(error?.message).toContain('projections.leaseMs must be a whole number from 500');
  });

  it('takes its options from an injected factory (forRootAsync)', async () => {
    @Injectable()
    class Settings {
      readonly cacheSize = 7;
    }
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}
    const { app, error } = await boot([
      EsflowModule.forRootAsync({
        imports: [SettingsModule],
        inject: [Settings],
        useFactory: (settings: Settings) => ({
          ...adapters(),
          instanceCacheSize: settings.cacheSize,
        }),
      }),
      KycOnboardingModule,
    ]);
    expect(error).toBeUndefined();
    expect(app!.get(WORKFLOW_CATALOG).names()).toEqual(['kycOnboarding']);
    await app!.close();
  });

  it('names the workflow and event whose schema is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'esflow-no-schemas-'));
    dirs.push(empty);
    writeFileSync(join(empty, 'README'), 'no schemas here');
    const { error } = await boot([
      EsflowModule.forRoot({
        ...adapters(),
        features: [defineFeature({ workflows: [kycOnboarding], schemas: empty })],
      }),
    ]);
    expect(error?.message).toContain(
      'kycOnboarding: UserCreated (its start event) has no schema: add UserCreated.avsc to its schema directory, defining the record esflow.kycOnboarding.UserCreated',
    );
  });

  it('refuses a projection of a workflow no module registers', async () => {
    const orphan = defineProjection({
      name: 'orphan',
      version: 1,
      workflows: ['invoicing'],
      collections: { rows: { indexes: [] } },
      handlers: { InvoiceSent: () => undefined },
    });
    const { error } = await boot([
      EsflowModule.forRoot({
        ...adapters(),
        features: [{ ...kycOnboardingFeature, projections: [orphan] }],
      }),
    ]);
    expect(error?.message).toContain(
      'projection orphan reads workflow invoicing, which no module registers (registered: kycOnboarding)',
    );
  });

  it('refuses forFeature without a defined feature', () => {
    expect(() => EsflowModule.forFeature({ workflows: [] } as unknown as EsflowFeature)).toThrow(
      /takes the result of defineFeature/,
    );
  });

  it("lets the application's own services query its projections, and only registered ones", async () => {
    const { app } = await boot([EsflowModule.forRoot(adapters()), KycOnboardingModule]);
    const queries = app!.get(ProjectionQueries);
    expect(await queries.find('onboardings_awaiting_kyc', 'onboardings')).toEqual([]);
    await expect(queries.find('nope', 'rows')).rejects.toThrow(
      /no projection named nope is registered/,
    );
    await expect(queries.find('onboardings_awaiting_kyc', 'rows')).rejects.toThrow(
      /has no collection rows \(collections: onboardings\)/,
    );
    await app!.close();
  });
});

describe('defineWorkflow', () => {
  it('refuses a start event that is also a transition event (at run time too)', () => {
    const machine = setup({}).createMachine({
      initial: 'a',
      states: { a: { on: { Started: 'b' } }, b: {} },
    });
    expect(() =>
      defineWorkflow({ name: 'odd', version: 1, machine, startEvent: 'Started' }),
    ).toThrow(/start event Started must not also be a transition event/);
  });
});
