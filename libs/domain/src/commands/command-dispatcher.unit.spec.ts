import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@esflow/testing';
import { Result } from '../errors/rejection';
import { systemClock } from '../node/system-clock';
import { FrameworkEvent } from '../workflow/framework-events';
import {
  anOrder,
  createTestEngine,
  soleLeases,
  INVOKING_SCHEMAS,
} from '../../../../test/support/engine-fixture';
import { invokingWorkflow, invokingWorkflows } from '../../../../test/support/invoking-workflow';
import { CommandDispatcher, CommandHandler, PermanentCommandFailure } from './command-dispatcher';
import { CommandQueue, CommandStatus } from './command-queue.port';
import { createMemoryCommandQueue } from './memory-command-queue';

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

const running: CommandDispatcher[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((dispatcher) => dispatcher.stop()));
});

async function aDispatcher(
  handlers: Record<string, CommandHandler>,
  options: { invoking?: boolean; queue?: CommandQueue } = {},
) {
  const built = await createTestEngine(
    options.invoking
      ? {
          definitions: [invokingWorkflow('job', true), invokingWorkflow('strictJob', false)],
          schemas: INVOKING_SCHEMAS,
        }
      : {},
  );
  const queue = options.queue ?? createMemoryCommandQueue();
  const errors: string[] = [];
  const dispatcher = new CommandDispatcher({
    store: built.store,
    codec: built.codec,
    queue,
    engine: built.engine,
    catalog: built.catalog,
    handlers: new Map(Object.entries(handlers)),
    leases: soleLeases(),
    owner: 'dispatcher-under-test',
    clock: systemClock,
    pollMs: 20,
    onError: (message, error) => errors.push(`${message}: ${String(error)}`),
  });
  running.push(dispatcher);
  return { ...built, queue, dispatcher, errors };
}

const until = (what: string, check: () => Promise<boolean> | boolean) =>
  waitFor(check, { timeoutMs: 10_000, intervalMs: 5, what });

describe('the command dispatcher', () => {
  it("runs an invoked actor's command and delivers its output as the machine's done event", async () => {
    const calls: { commandId: string; payload: unknown; attempt: number }[] = [];
    const { engine, queue, dispatcher, store } = await aDispatcher(
      {
        DoWork: {
          handle: async (command) => {
            calls.push({
              commandId: command.commandId,
              payload: command.payload,
              attempt: command.attempt,
            });
            return { output: { result: `did ${String(command.payload.jobId)}` } };
          },
        },
      },
      { invoking: true },
    );
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'job', id: 'j-1', input: { jobId: 'j-1' } }),
    );
    const [inFlight] = started.instance.inFlightCommands;
    expect(inFlight?.commandType).toBe('DoWork');
    dispatcher.start();
    await until('the job done', async () => {
      const view = await engine.queries.get('job', 'j-1');
      return view.ok && view.value.state === 'done';
    });
    const view = valueOf(await engine.queries.get('job', 'j-1'));
    expect(view.context).toMatchObject({ result: 'did j-1' });
    expect(view.inFlightCommands).toEqual([]);
    expect(calls).toEqual([
      { commandId: inFlight!.commandId, payload: { jobId: 'j-1' }, attempt: 1 },
    ]);
    await until('the command completed in the queue', async () => {
      return (await queue.get(inFlight!.commandId))?.status === CommandStatus.Completed;
    });
    // Replayed from the stream by a fresh engine: the same state and context.
    const fresh = await createTestEngine({
      store,
      definitions: [invokingWorkflow('job', true), invokingWorkflow('strictJob', false)],
      schemas: INVOKING_SCHEMAS,
    });
    const replayed = valueOf(await fresh.engine.queries.get('job', 'j-1'));
    expect(replayed.state).toBe('done');
    expect(replayed.context).toEqual(view.context);
  });

  it('retries a failed attempt with the same command id, and records the attempts it took', async () => {
    const ids: string[] = [];
    const { engine, dispatcher } = await aDispatcher(
      {
        DoWork: {
          handle: async (command) => {
            ids.push(command.commandId);
            if (command.attempt < 3) throw new Error(`flaky ${command.attempt}`);
            return { output: { result: 'third time' } };
          },
        },
      },
      { invoking: true },
    );
    await engine.startWorkflow.handle({ workflow: 'job', id: 'j-2', input: { jobId: 'j-2' } });
    dispatcher.start();
    await until('the job done', async () => {
      const view = await engine.queries.get('job', 'j-2');
      return view.ok && view.value.state === 'done';
    });
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    const history = valueOf(await engine.queries.history('job', 'j-2'));
    const completed = history.find((e) => e.type === FrameworkEvent.CommandCompleted);
    expect(completed?.data).toMatchObject({ attempts: 3 });
  });

  it("delivers the final failure to the invoke's onError after the last retry", async () => {
    let attempts = 0;
    const { engine, queue, dispatcher } = await aDispatcher(
      {
        DoWork: {
          handle: async () => {
            attempts += 1;
            throw new Error('the work service is down');
          },
        },
      },
      { invoking: true },
    );
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'job', id: 'j-3', input: { jobId: 'j-3' } }),
    );
    dispatcher.start();
    await until('the job failed', async () => {
      const view = await engine.queries.get('job', 'j-3');
      return view.ok && view.value.state === 'failed';
    });
    expect(attempts).toBe(3);
    const view = valueOf(await engine.queries.get('job', 'j-3'));
    expect(view.context).toMatchObject({ error: 'the work service is down' });
    expect(view.status).toBe('failed');
    expect(view.incidents).toEqual([]);
    const commandId = started.instance.inFlightCommands[0]!.commandId;
    await until('the command failed in the queue', async () => {
      return (await queue.get(commandId))?.status === CommandStatus.Failed;
    });
  });

  it('raises an incident after the last retry when nothing handles the error, and a retry resolves it', async () => {
    let healthy = false;
    let attempts = 0;
    const { engine, queue, dispatcher } = await aDispatcher(
      {
        DoWork: {
          handle: async () => {
            attempts += 1;
            if (!healthy) throw new Error('still down');
            return { output: { result: 'after the fix' } };
          },
        },
      },
      { invoking: true },
    );
    const started = valueOf(
      await engine.startWorkflow.handle({
        workflow: 'strictJob',
        id: 's-1',
        input: { jobId: 's-1' },
      }),
    );
    const commandId = started.instance.inFlightCommands[0]!.commandId;
    dispatcher.start();
    await until('an incident', async () => {
      return (await queue.get(commandId))?.status === CommandStatus.Incident;
    });
    expect(attempts).toBe(3);
    const withIncident = valueOf(await engine.queries.get('strictJob', 's-1'));
    expect(withIncident.state).toBe('working');
    expect(withIncident.incidents).toEqual([
      expect.objectContaining({ commandId, attempts: 3, error: 'still down' }),
    ]);
    healthy = true;
    valueOf(
      await engine.commands.resolveIncident({
        workflow: 'strictJob',
        id: 's-1',
        incidentId: withIncident.incidents[0]!.incidentId,
        resolution: 'retry',
        resolvedBy: 'operator-1',
      }),
    );
    await until('the job done after the retry', async () => {
      const view = await engine.queries.get('strictJob', 's-1');
      return view.ok && view.value.state === 'done';
    });
    expect(attempts).toBe(4);
    expect(valueOf(await engine.queries.get('strictJob', 's-1')).incidents).toEqual([]);
  });

  it("moves an invoking state on when its command's incident is resolved by hand with an output", async () => {
    const { engine, queue, dispatcher, store } = await aDispatcher(
      {
        DoWork: {
          handle: async () => {
            throw new PermanentCommandFailure('needs a person');
          },
        },
      },
      { invoking: true },
    );
    const started = valueOf(
      await engine.startWorkflow.handle({
        workflow: 'strictJob',
        id: 's-2',
        input: { jobId: 's-2' },
      }),
    );
    const commandId = started.instance.inFlightCommands[0]!.commandId;
    dispatcher.start();
    await until('an incident', async () => {
      return (await queue.get(commandId))?.status === CommandStatus.Incident;
    });
    const { incidentId } = valueOf(await engine.queries.get('strictJob', 's-2')).incidents[0]!;
    const decide = (extra: { output?: unknown; resolution?: 'retry' | 'manual' }) =>
      engine.commands.resolveIncident({
        workflow: 'strictJob',
        id: 's-2',
        incidentId,
        resolution: extra.resolution ?? 'manual',
        note: 'done by hand',
        ...('output' in extra ? { output: extra.output } : {}),
      });
    // The invoke declares an output record: a resolution by hand must give one that fits it.
    for (const refused of [await decide({}), await decide({ output: { result: 7 } })]) {
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.rejection.code).toBe('SCHEMA_VALIDATION_FAILED');
    }
    const onRetry = await decide({ resolution: 'retry', output: { result: 'x' } });
    expect(!onRetry.ok && onRetry.rejection.code).toBe('SCHEMA_VALIDATION_FAILED');
    expect(valueOf(await engine.queries.get('strictJob', 's-2')).state).toBe('working');

    const resolved = valueOf(await decide({ output: { result: 'by hand' } }));
    expect(resolved.outcome).toBe('recorded');
    expect(resolved.instance).toMatchObject({
      state: 'done',
      context: { result: 'by hand' },
      inFlightCommands: [],
      incidents: [],
    });
    expect(valueOf(await decide({ output: { result: 'by hand' } })).outcome).toBe('replayed');
    await until('the command resolved in the queue', async () => {
      return (await queue.get(commandId))?.status === CommandStatus.Resolved;
    });
    const fresh = await createTestEngine({
      store,
      definitions: invokingWorkflows(),
      schemas: INVOKING_SCHEMAS,
    });
    const replayed = valueOf(await fresh.engine.queries.get('strictJob', 's-2'));
    expect(replayed).toMatchObject({ state: 'done', context: { result: 'by hand' } });
  });

  it('gives up at once on a permanent failure', async () => {
    let attempts = 0;
    const { engine, dispatcher } = await aDispatcher(
      {
        DoWork: {
          handle: async () => {
            attempts += 1;
            throw new PermanentCommandFailure('no such job');
          },
        },
      },
      { invoking: true },
    );
    await engine.startWorkflow.handle({ workflow: 'job', id: 'j-4', input: { jobId: 'j-4' } });
    dispatcher.start();
    await until('the job failed', async () => {
      const view = await engine.queries.get('job', 'j-4');
      return view.ok && view.value.state === 'failed';
    });
    expect(attempts).toBe(1);
  });

  it('withdraws the command of a state left first; a late completion is not in flight', async () => {
    const { engine, queue, dispatcher } = await aDispatcher({}, { invoking: true });
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'job', id: 'j-5', input: { jobId: 'j-5' } }),
    );
    const commandId = started.instance.inFlightCommands[0]!.commandId;
    const left = valueOf(
      await engine.sendEvent.handle({ workflow: 'job', id: 'j-5', type: 'Abandon', payload: {} }),
    );
    expect(left.instance.inFlightCommands).toEqual([]);
    dispatcher.start();
    await until('the command withdrawn in the queue', async () => {
      return (await queue.get(commandId))?.status === CommandStatus.Withdrawn;
    });
    const late = valueOf(
      await engine.commands.complete({
        workflow: 'job',
        id: 'j-5',
        commandId,
        attempts: 1,
        output: { result: 'too late' },
      }),
    );
    expect(late.outcome).toBe('notInFlight');
    expect(late.instance.state).toBe('abandoned');
  });

  it('refuses an output that fails its schema, naming the field, and records nothing', async () => {
    const { engine } = await aDispatcher({}, { invoking: true });
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'job', id: 'j-6', input: { jobId: 'j-6' } }),
    );
    const refused = await engine.commands.complete({
      workflow: 'job',
      id: 'j-6',
      commandId: started.instance.inFlightCommands[0]!.commandId,
      attempts: 1,
      output: { result: 42 },
    });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.rejection.code).toBe('SCHEMA_VALIDATION_FAILED');
      expect(JSON.stringify(refused.rejection)).toContain('output.result');
    }
    expect(valueOf(await engine.queries.get('job', 'j-6')).revision).toBe(
      started.instance.revision,
    );
  });

  it('re-runs a command whose process died mid-attempt; the effect, deduplicated by command id, applies once', async () => {
    // The stand-in payment provider: refunds once per command id, however often it is asked.
    const refunds = new Map<string, string>();
    const refund = (commandId: string) => {
      if (!refunds.has(commandId)) refunds.set(commandId, `refund-${refunds.size + 1}`);
      return refunds.get(commandId)!;
    };
    const queue = createMemoryCommandQueue();
    const { engine, dispatcher, store } = await aDispatcher(
      {
        RefundPayment: {
          handle: async (command) => ({
            reply: { type: 'PaymentRefunded', payload: { refundId: refund(command.commandId) } },
          }),
        },
      },
      { queue },
    );
    const order = anOrder('o-crash');
    await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: order });
    await engine.sendEvent.handle({
      workflow: 'orderFulfillment',
      id: 'o-crash',
      type: 'PaymentReceived',
      payload: { paymentId: 'p-1', amountCents: 4999 },
    });
    const refunding = valueOf(
      await engine.sendEvent.handle({
        workflow: 'orderFulfillment',
        id: 'o-crash',
        type: 'GoodsUnavailable',
        payload: { sku: 'SKU-1' },
      }),
    );
    const commandId = refunding.instance.inFlightCommands[0]!.commandId;
    dispatcher.start();
    await until(
      'the refund command queued',
      async () => (await queue.get(commandId)) !== undefined,
    );
    // Another process leased it, refunded, and died before recording the reply; it may have got
    // there first (then this dispatcher's own attempt completes it, and the check below holds).
    await dispatcher.stop();
    running.splice(running.indexOf(dispatcher), 1);
    const [crashed] = await queue.lease({
      commandTypes: ['RefundPayment'],
      owner: 'crashed-process',
      leaseMs: 100,
      max: 1,
      now: new Date(),
    });
    if (crashed) refund(crashed.commandId);
    const second = new CommandDispatcher({
      store,
      codec: (await createTestEngine({ store })).codec,
      queue,
      engine,
      catalog: (await createTestEngine({ store })).catalog,
      handlers: new Map([
        [
          'RefundPayment',
          {
            handle: async (command) => ({
              reply: {
                type: 'PaymentRefunded',
                payload: { refundId: refund(command.commandId) },
              },
            }),
          },
        ],
      ]),
      leases: soleLeases(),
      owner: 'restarted',
      clock: systemClock,
      pollMs: 20,
    });
    running.push(second);
    second.start();
    await until('the order cancelled after its refund', async () => {
      const view = await engine.queries.get('orderFulfillment', 'o-crash');
      return view.ok && view.value.state === 'cancelled';
    });
    expect(refunds.size).toBe(1);
    const history = valueOf(await engine.queries.history('orderFulfillment', 'o-crash'));
    const replies = history.filter((e) => e.type === 'PaymentRefunded');
    expect(replies).toHaveLength(1);
    expect(replies[0]!.data).toEqual({ refundId: 'refund-1' });
    expect(replies[0]!.metadata.causationId).toBe(commandId);
  });
});
