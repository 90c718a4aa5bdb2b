import { beforeAll, describe, expect, it } from 'vitest';
import { ApiAndProjector, apiAndProjector } from '../support/api-and-projector';
import { AppProcess } from '../support/app-process';
import { anOrder } from '../support/engine-fixture';
import { waitFor } from '../support/wait-for';

// The built api and projector on one data directory: the projector's command dispatcher carries
// out orderFulfillment's RefundPayment with the example's in-process handler, and the reply moves
// the order on. Once on the embedded SQLite store, once on the EventStoreDB adapter against the
// esdb-wire-double, a TEST DOUBLE of EventStoreDB's gRPC protocol run in this process
// (test/doubles/esdb/README.md).

type Instance = {
  state: unknown;
  revision: number;
  inFlightCommands: { commandId: string; commandType: string; incidentId: string | null }[];
  incidents: unknown[];
};
type History = {
  events: {
    type: string;
    revision: number;
    data: Record<string, unknown>;
    metadata: Record<string, unknown>;
  }[];
};

describe.each(['sqlite', 'esdb-wire-double'] as const)(
  'command dispatch, end to end, on %s',
  (store) => {
    const apps = apiAndProjector(store, 'esflow-dispatch-');
    let projector: AppProcess;
    let http: ApiAndProjector['http'];
    beforeAll(() => {
      ({ projector, http } = apps);
    });

    /** An order paid for whose goods are unavailable: it waits in `refunding` for its refund. */
    const toRefunding = async (id: string) => {
      expect((await http.post('/workflows/orderFulfillment', { input: anOrder(id) })).status).toBe(
        201,
      );
      await http.post(`/workflows/orderFulfillment/${id}/events`, {
        type: 'PaymentReceived',
        payload: { paymentId: `pay-${id}`, amountCents: 4999 },
      });
      const refunding = await http.post(`/workflows/orderFulfillment/${id}/events`, {
        type: 'GoodsUnavailable',
        payload: { sku: 'SKU-1' },
      });
      expect(refunding.status, JSON.stringify(refunding.body)).toBe(200);
      // The handler may have answered already: the command's id is in the history either way.
      const dispatched = (
        await http.get<History>(`/workflows/orderFulfillment/${id}/history`)
      ).body.events.filter((e) => e.type === 'CommandDispatched');
      expect(dispatched).toHaveLength(1);
      expect(dispatched[0]!.data).toMatchObject({ commandType: 'RefundPayment', invokeId: null });
      return String(dispatched[0]!.data['commandId']);
    };
    const cancelled = (id: string) =>
      waitFor(
        async () => {
          const instance = (await http.get<Instance>(`/workflows/orderFulfillment/${id}`)).body;
          return instance.state === 'cancelled' ? instance : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `order ${id} refunded and cancelled` },
      );
    const refundsOf = async (id: string) =>
      (await http.get<History>(`/workflows/orderFulfillment/${id}/history`)).body.events.filter(
        (e) => e.type === 'PaymentRefunded',
      );

    it('refunds through the in-process handler; the reply is caused by the command id', async () => {
      const commandId = await toRefunding('refund-1');
      const instance = await cancelled('refund-1');
      expect(instance.inFlightCommands).toEqual([]);
      const refunds = await refundsOf('refund-1');
      expect(refunds).toHaveLength(1);
      expect(refunds[0]!.metadata['causationId']).toBe(commandId);
      expect(String(refunds[0]!.data['refundId'])).not.toBe('');
      const metrics = await (await fetch(`${projector.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /^esflow_command_attempts_total\{command_type="RefundPayment",outcome="completed"\} [1-9]\d*$/m,
      );
      expect(metrics).toMatch(/^esflow_commands_indexed_total\{change="dispatched"\} [1-9]\d*$/m);
      expect(metrics).toMatch(
        /^esflow_command_handler_duration_seconds_count\{command_type="RefundPayment"\} [1-9]\d*$/m,
      );
    }, 40_000);

    it('carries out, once, a command dispatched while the projector was SIGKILLed', async () => {
      await projector.kill('SIGKILL');
      const commandId = await toRefunding('refund-2');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const waiting = (await http.get<Instance>('/workflows/orderFulfillment/refund-2')).body;
      expect(waiting.state).toBe('refunding');
      await projector.restart();
      await cancelled('refund-2');
      const refunds = await refundsOf('refund-2');
      expect(refunds).toHaveLength(1);
      expect(refunds[0]!.metadata['causationId']).toBe(commandId);
      const completions = (
        await http.get<History>('/workflows/orderFulfillment/refund-2/history')
      ).body.events.filter((e) => e.type === 'CommandCompleted');
      expect(completions).toHaveLength(1);
      expect(completions[0]!.data).toMatchObject({ commandId, attempts: 1 });
    }, 60_000);
  },
);
