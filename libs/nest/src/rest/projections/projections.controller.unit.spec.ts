import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  ProjectionDefinition,
  ProjectionRecord,
  ProjectionRequest,
  ProjectionRequestKind,
  ProjectionStatus,
  ReadModelQueries,
  ReadModelStore,
} from '@esflow/core';
import { ResolvedRestOptions } from '../rest-options';
import { ProjectionStatuses } from '../../projections/projection-statuses';
import { ProjectionsController } from './projections.controller';

/** The operator calls' own decisions, over a read model that holds one record and its queue. */
function controllerOver(record: Partial<ProjectionRecord>, rebuildCooldownMs = 30_000) {
  const requests: ProjectionRequest[] = [];
  const readModel = {
    record: async () => ({ name: 'instances', status: ProjectionStatus.Stopped, ...record }),
    pendingRequests: async () => [...requests],
    request: async (projection: string, kind: ProjectionRequestKind) => {
      requests.push({ id: requests.length + 1, projection, kind });
    },
  } as unknown as ReadModelStore;
  const definitions = [{ name: 'instances' }] as unknown as ProjectionDefinition[];
  const controller = new ProjectionsController(
    readModel,
    {} as ReadModelQueries,
    definitions,
    {} as ProjectionStatuses,
    { bodyLimitBytes: 1024, rebuildCooldownMs } satisfies ResolvedRestOptions,
  );
  return { controller, requests };
}

const failure = {
  message: 'boom',
  streamName: 'orderFulfillment-o-1',
  revision: 0,
  type: 'OrderPlaced',
  position: '1',
};

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: { code?: string }) => error.code,
  );

describe('projection operator calls', () => {
  it('take one decision per failed event: a second retry or skip while one waits is refused', async () => {
    const { controller, requests } = controllerOver({ failure });
    expect(await codeOf(controller.retry('instances'))).toBe('accepted');
    expect(await codeOf(controller.skip('instances'))).toBe(ErrorCode.ProjectionRequestPending);
    expect(await codeOf(controller.retry('instances'))).toBe(ErrorCode.ProjectionRequestPending);
    expect(requests.map((r) => r.kind)).toEqual([ProjectionRequestKind.Retry]);
  });

  it('refuse retry and skip when the projection has not stopped', async () => {
    const { controller, requests } = controllerOver({});
    expect(await codeOf(controller.skip('instances'))).toBe(ErrorCode.ProjectionNotStopped);
    expect(requests).toEqual([]);
  });

  it('refuse a rebuild moments after the last one finished, saying when to come back', async () => {
    const rebuiltAt = new Date(Date.now() - 10_000).toISOString();
    const { controller, requests } = controllerOver({ rebuiltAt });
    const refusal = await controller.rebuild('instances').then(
      () => undefined,
      (error: { code: string; details: Record<string, unknown> }) => error,
    );
    expect(refusal?.code).toBe(ErrorCode.RebuildTooSoon);
    expect(refusal?.details['retryAfterSeconds']).toBeGreaterThanOrEqual(19);
    expect(refusal?.details['retryAfterSeconds']).toBeLessThanOrEqual(20);
    expect(requests).toEqual([]);
    const { controller: noCooldown } = controllerOver({ rebuiltAt }, 0);
    expect(await codeOf(noCooldown.rebuild('instances'))).toBe('accepted');
  });
});
