import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineFeature, ErrorCode } from '@esflow/core';
import { startTestApp, TestApp } from '@esflow/testing';
import { INVOKING_SCHEMAS } from '../support/engine-fixture';
import { httpClient } from '../support/http-client';
import { invokingWorkflow } from '../support/invoking-workflow';
import { PARCEL_SCHEMAS, parcelWorkflow } from '../support/parcel-workflow';
import { waitFor } from '../support/wait-for';

// The external-worker API in an application of its own (in process, SQLite files, the projector's
// dispatcher filling the command queue in memory), with test workflows whose commands have no
// in-process handler: `parcel`, whose DeliverParcel is an emitted command answered by a reply
// event, and two jobs whose DoWork is an invoked actor's command answered by an output, one with
// `onError` (a final failure goes to the machine: `failed`), one without (an incident).

type Instance = {
  state: unknown;
  status: string;
  revision: number;
  context: Record<string, unknown>;
  inFlightCommands: { commandId: string; commandType: string; incidentId: string | null }[];
  incidents: { incidentId: string; commandId: string }[];
};

describe('external workers in an application', () => {
  let app: TestApp;
  let http: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    app = await startTestApp({
      features: [
        defineFeature({
          workflows: [
            parcelWorkflow,
            invokingWorkflow('workerJob', true),
            invokingWorkflow('strictWorkerJob', false),
          ],
          schemas: [PARCEL_SCHEMAS, INVOKING_SCHEMAS],
        }),
      ],
    });
    http = httpClient(app.baseUrl);
  });
  afterAll(async () => app?.close());

  const instanceOf = async (workflow: string, id: string) =>
    (await http.get<Instance>(`/workflows/${workflow}/${id}`)).body;

  /** Starts an instance and returns the id of the command it dispatched. */
  async function start(workflow: string, input: Record<string, unknown>) {
    const id = String(Object.values(input)[0]);
    const started = await http.post(`/workflows/${workflow}`, { id, input });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const [command] = (await instanceOf(workflow, id)).inFlightCommands;
    return { id, commandId: command!.commandId };
  }

  /** Leases `commandType` as `workerId` until the lease gives `commandId`, and nothing else. */
  const leaseFor = (workerId: string, commandType: string, commandId: string) =>
    waitFor(
      async () => {
        const answer = await http.post<{ commands: { commandId: string; attempts: number }[] }>(
          '/commands/lease',
          { workerId, commandTypes: [commandType], leaseMs: 60_000 },
        );
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        if (answer.body.commands.length === 0) return undefined;
        expect(answer.body.commands.map((c) => c.commandId)).toEqual([commandId]);
        return answer.body.commands[0];
      },
      { timeoutMs: 10_000, intervalMs: 10, what: `${workerId} to lease ${commandId}` },
    );

  const statusIn = (commandId: string, status: string) =>
    waitFor(
      async () => {
        const page = await http.get<{ commands: { commandId: string; status: string }[] }>(
          `/commands?status=${status}&limit=1000`,
        );
        return page.body.commands.some((c) => c.commandId === commandId);
      },
      { timeoutMs: 10_000, intervalMs: 10, what: `command ${commandId} ${status}` },
    );

  const complete = (commandId: string, body: Record<string, unknown>) =>
    http.post<Record<string, unknown>>(`/commands/${commandId}/complete`, {
      workerId: 'worker-1',
      ...body,
    });
  const fail = (commandId: string, body: Record<string, unknown> = {}) =>
    http.post<Record<string, unknown>>(`/commands/${commandId}/fail`, {
      workerId: 'worker-1',
      error: 'broken',
      ...body,
    });

  it("takes an emitted command's reply: its type and payload checked, nothing written when refused", async () => {
    const { id, commandId } = await start('parcel', { parcelId: `p-${randomUUID()}` });
    await leaseFor('worker-1', 'DeliverParcel', commandId);
    const before = await instanceOf('parcel', id);
    const unknownType = await complete(commandId, { reply: { type: 'Teleported', payload: {} } });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body).toMatchObject({
      code: ErrorCode.UnknownEventType,
      eventType: 'Teleported',
      knownTypes: ['ParcelDelivered'],
    });
    const badPayload = await complete(commandId, {
      reply: { type: 'ParcelDelivered', payload: { signedBy: 7 } },
    });
    expect(badPayload.body).toMatchObject({
      code: ErrorCode.SchemaValidationFailed,
      errors: [expect.objectContaining({ path: 'reply.payload.signedBy' })],
    });
    const output = await complete(commandId, { output: { signedBy: 'x' } });
    expect(output.body).toMatchObject({
      code: ErrorCode.SchemaValidationFailed,
      errors: [expect.objectContaining({ path: 'output' })],
    });
    expect(await instanceOf('parcel', id)).toEqual(before);

    const done = await complete(commandId, {
      reply: { type: 'ParcelDelivered', payload: { signedBy: 'Ada' } },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({
      outcome: 'recorded',
      replyAccepted: true,
      instance: { state: 'delivered', status: 'completed', inFlightCommands: [] },
    });
    await statusIn(commandId, 'completed');
  });

  it('completes an emitted command without a reply: the command is settled, the machine unchanged', async () => {
    const { id, commandId } = await start('parcel', { parcelId: `p-${randomUUID()}` });
    await leaseFor('worker-1', 'DeliverParcel', commandId);
    const done = await complete(commandId, {});
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({
      outcome: 'recorded',
      instance: { state: 'inTransit', inFlightCommands: [] },
    });
    expect((await instanceOf('parcel', id)).state).toBe('inTransit');
    await statusIn(commandId, 'completed');
  });

  it("takes an invoked actor's output, checked against its record", async () => {
    const { id, commandId } = await start('workerJob', { jobId: `j-${randomUUID()}` });
    await leaseFor('worker-1', 'DoWork', commandId);
    const reply = await complete(commandId, { reply: { type: 'Abandon', payload: {} } });
    expect(reply.body).toMatchObject({
      code: ErrorCode.SchemaValidationFailed,
      errors: [expect.objectContaining({ path: 'reply' })],
    });
    const bad = await complete(commandId, { output: { result: 42 } });
    expect(bad.body).toMatchObject({
      code: ErrorCode.SchemaValidationFailed,
      errors: [expect.objectContaining({ path: 'output.result' })],
    });
    const done = await complete(commandId, { output: { result: 'ok' } });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({ outcome: 'recorded', instance: { state: 'done' } });
    expect((await instanceOf('workerJob', id)).context).toMatchObject({ result: 'ok' });
  });

  it("delivers an invoke's final failure to its onError: failed, not an incident", async () => {
    const { id, commandId } = await start('workerJob', { jobId: `j-${randomUUID()}` });
    for (const attempt of [1, 2]) {
      expect((await leaseFor('worker-1', 'DoWork', commandId)).attempts).toBe(attempt);
      expect((await fail(commandId, { error: `broken ${attempt}` })).body).toMatchObject({
        status: 'pending',
        attempts: attempt,
      });
    }
    await leaseFor('worker-1', 'DoWork', commandId);
    const failed = await fail(commandId, { error: 'broken for good' });
    expect(failed.status, JSON.stringify(failed.body)).toBe(200);
    expect(failed.body).toMatchObject({
      status: 'failed',
      attempts: 3,
      instance: { state: 'failed', status: 'failed', inFlightCommands: [], incidents: [] },
    });
    expect(failed.body).not.toHaveProperty('incidentId');
    expect((await instanceOf('workerJob', id)).context).toMatchObject({
      error: 'broken for good',
    });
    await statusIn(commandId, 'failed');
    const again = await fail(commandId, { error: 'broken for good' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: ErrorCode.CommandNotInFlight,
      commandId,
      commandStatus: 'failed',
    });
  });

  it('raises an incident for an invoke without onError; a retry makes the command leasable again', async () => {
    const { id, commandId } = await start('strictWorkerJob', { jobId: `j-${randomUUID()}` });
    await leaseFor('worker-1', 'DoWork', commandId);
    const raised = await fail(commandId, { retryable: false, error: 'needs a human' });
    expect(raised.body).toMatchObject({ status: 'incident', attempts: 1 });
    const incidentId = String(raised.body['incidentId']);
    expect((await instanceOf('strictWorkerJob', id)).incidents).toEqual([
      expect.objectContaining({ incidentId, commandId }),
    ]);
    await statusIn(commandId, 'incident');
    const retried = await http.post(`/incidents/${incidentId}/retry`, { resolvedBy: 'ops' });
    expect(retried.body).toMatchObject({ outcome: 'recorded', incidentId, commandId });
    expect((await leaseFor('worker-2', 'DoWork', commandId)).attempts).toBe(1);
    const done = await complete(commandId, { workerId: 'worker-2', output: { result: 'fixed' } });
    expect(done.body).toMatchObject({ outcome: 'recorded', instance: { state: 'done' } });
  });

  it('refuses reports on a command its instance withdrew', async () => {
    const { id, commandId } = await start('workerJob', { jobId: `j-${randomUUID()}` });
    await leaseFor('worker-1', 'DoWork', commandId);
    const abandoned = await http.post(`/workflows/workerJob/${id}/events`, {
      type: 'Abandon',
      payload: {},
    });
    expect(abandoned.status, JSON.stringify(abandoned.body)).toBe(200);
    const { revision } = await instanceOf('workerJob', id);
    const late = await complete(commandId, { output: { result: 'too late' } });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: ErrorCode.CommandNotInFlight, commandId });
    await statusIn(commandId, 'withdrawn');
    const failed = await fail(commandId);
    expect(failed.body).toMatchObject({
      code: ErrorCode.CommandNotInFlight,
      commandStatus: 'withdrawn',
    });
    expect((await instanceOf('workerJob', id)).revision).toBe(revision);
  });
});
