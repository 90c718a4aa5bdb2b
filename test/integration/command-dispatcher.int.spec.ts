import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CommandDispatcher,
  CommandHandler,
  CommandQueue,
  CommandStatus,
  EventStore,
  ReadModelStore,
  Result,
} from '@esflow/core';
import { systemClock } from '@esflow/core/node';
import { createEsdbEventStore } from '@esflow/eventstoredb';
import {
  createSqliteCommandQueue,
  createSqliteEventStore,
  createSqliteReadModelStore,
} from '@esflow/sqlite';
import { waitFor } from '@esflow/testing';
import { EsdbWireDouble, startEsdbWireDouble } from '../doubles/esdb/esdb-wire-double';
import { anOrder, createTestEngine, INVOKING_SCHEMAS } from '../support/engine-fixture';
import { invokingWorkflows } from '../support/invoking-workflow';

// The command dispatcher on durable parts: the SQLite command queue and read-model leases, with
// the instances' streams once in the embedded SQLite store and once in the EventStoreDB adapter
// against the esdb-wire-double, a TEST DOUBLE of EventStoreDB's gRPC protocol run in this process
// (test/doubles/esdb/README.md).

function valueOf<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result.value;
}

const until = (what: string, check: () => Promise<boolean>) =>
  waitFor(check, { timeoutMs: 20_000, intervalMs: 10, what });

describe.each(['sqlite', 'esdb-wire-double'] as const)('the command dispatcher on %s', (kind) => {
  const dir = mkdtempSync(join(tmpdir(), 'esflow-dispatch-int-'));
  let double: EsdbWireDouble | undefined;
  let store: EventStore;
  let readModel: ReadModelStore;
  let queue: CommandQueue & { close(): Promise<void> };

  beforeAll(async () => {
    if (kind === 'esdb-wire-double') {
      double = await startEsdbWireDouble();
      store = createEsdbEventStore({ connectionString: double.connectionString });
    } else store = createSqliteEventStore({ filename: join(dir, 'esflow.sqlite') });
    readModel = createSqliteReadModelStore({ filename: join(dir, 'readmodel.sqlite') });
    await readModel.migrate();
    queue = createSqliteCommandQueue({ filename: join(dir, 'readmodel.sqlite') });
  }, 30_000);

  afterAll(async () => {
    await queue?.close();
    await readModel?.close();
    await store?.close();
    await double?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const engineOver = () =>
    createTestEngine({
      store,
      definitions: invokingWorkflows(),
      schemas: INVOKING_SCHEMAS,
    });

  /** A dispatcher process: its own engine over the shared store, queue and leases. */
  async function aProcess(owner: string, handlers: Record<string, CommandHandler>) {
    const { engine, codec, catalog } = await engineOver();
    const dispatcher = new CommandDispatcher({
      store,
      codec,
      queue,
      engine,
      catalog,
      handlers: new Map(Object.entries(handlers)),
      leases: readModel,
      owner,
      clock: systemClock,
      leaseTtlMs: 1_500,
      handlerLeaseMs: 1_000,
      shutdownGraceMs: 200,
      pollMs: 20,
    });
    dispatcher.start();
    return { engine, dispatcher };
  }

  it('re-runs a command whose handler died mid-attempt; its effect applies once', async () => {
    const effects = new Map<string, number>();
    const { engine } = await engineOver();
    const jobId = `crash-${kind}`;
    const started = valueOf(
      await engine.startWorkflow.handle({ workflow: 'job', id: jobId, input: { jobId } }),
    );
    const commandId = started.instance.inFlightCommands[0]!.commandId;
    // The first process applies the effect and never answers (it hangs, as a killed process
    // would); its lease on the command runs out after a second.
    let hung = false;
    const first = await aProcess('first', {
      DoWork: {
        handle: async (command) => {
          effects.set(command.commandId, (effects.get(command.commandId) ?? 0) + 1);
          hung = true;
          return new Promise<never>(() => undefined);
        },
      },
    });
    await until('the first attempt started', async () => hung);
    // It stops following the log; the hung attempt outlives the stop's grace period.
    await first.dispatcher.stop();
    const second = await aProcess('second', {
      DoWork: {
        handle: async (command) => {
          // The receiving system deduplicates by command id: a repeat changes nothing.
          if (!effects.has(command.commandId)) effects.set(command.commandId, 1);
          return { output: { result: `attempt ${command.attempt}` } };
        },
      },
    });
    try {
      await until('the job done', async () => {
        const view = await second.engine.queries.get('job', jobId);
        return view.ok && view.value.state === 'done';
      });
      expect(effects.get(commandId)).toBe(1);
      const view = valueOf(await second.engine.queries.get('job', jobId));
      expect(view.context).toMatchObject({ result: 'attempt 2' });
      const history = valueOf(await second.engine.queries.history('job', jobId));
      expect(history.filter((e) => e.type === 'CommandCompleted')).toHaveLength(1);
    } finally {
      await second.dispatcher.stop();
    }
  }, 60_000);

  it('raises an incident on the last failure; a retry resolves it, once', async () => {
    let healthy = false;
    const attempts: number[] = [];
    const { engine, dispatcher } = await aProcess(`incidents-${kind}`, {
      DoWork: {
        handle: async (command) => {
          attempts.push(command.attempt);
          if (!healthy) throw new Error('downstream unavailable');
          return { output: { result: 'recovered' } };
        },
      },
    });
    try {
      const jobId = `incident-${kind}`;
      const started = valueOf(
        await engine.startWorkflow.handle({ workflow: 'strictJob', id: jobId, input: { jobId } }),
      );
      const commandId = started.instance.inFlightCommands[0]!.commandId;
      await until('an incident in the queue', async () => {
        return (await queue.get(commandId))?.status === CommandStatus.Incident;
      });
      expect(attempts).toEqual([1, 2, 3]);
      const open = valueOf(await engine.queries.get('strictJob', jobId)).incidents;
      expect(open).toHaveLength(1);
      healthy = true;
      const retried = valueOf(
        await engine.commands.resolveIncident({
          workflow: 'strictJob',
          id: jobId,
          incidentId: open[0]!.incidentId,
          resolution: 'retry',
        }),
      );
      expect(retried.outcome).toBe('recorded');
      await until('the job done', async () => {
        const view = await engine.queries.get('strictJob', jobId);
        return view.ok && view.value.state === 'done';
      });
      expect(attempts).toEqual([1, 2, 3, 1]);
      const again = valueOf(
        await engine.commands.resolveIncident({
          workflow: 'strictJob',
          id: jobId,
          incidentId: open[0]!.incidentId,
          resolution: 'retry',
        }),
      );
      expect(again.outcome).toBe('replayed');
    } finally {
      await dispatcher.stop();
    }
  }, 60_000);

  it('carries a RefundPayment reply back to its order', async () => {
    const { engine, codec, catalog } = await createTestEngine({ store });
    const orderId = `refund-${kind}`;
    await engine.startWorkflow.handle({ workflow: 'orderFulfillment', input: anOrder(orderId) });
    await engine.sendEvent.handle({
      workflow: 'orderFulfillment',
      id: orderId,
      type: 'PaymentReceived',
      payload: { paymentId: 'p-1', amountCents: 4999 },
    });
    await engine.sendEvent.handle({
      workflow: 'orderFulfillment',
      id: orderId,
      type: 'GoodsUnavailable',
      payload: { sku: 'SKU-1' },
    });
    const dispatcher = new CommandDispatcher({
      store,
      codec,
      queue,
      engine,
      catalog,
      handlers: new Map([
        [
          'RefundPayment',
          {
            handle: async (command) => ({
              reply: { type: 'PaymentRefunded', payload: { refundId: `r-${command.commandId}` } },
            }),
          },
        ],
      ]),
      leases: readModel,
      owner: `refunds-${kind}`,
      clock: systemClock,
      leaseTtlMs: 1_500,
      pollMs: 20,
    });
    dispatcher.start();
    try {
      await until('the order cancelled', async () => {
        const view = await engine.queries.get('orderFulfillment', orderId);
        return view.ok && view.value.state === 'cancelled';
      });
    } finally {
      await dispatcher.stop();
    }
  }, 60_000);
});
