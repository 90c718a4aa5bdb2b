import { assign, setup } from 'xstate';
import { defineWorkflow, durableCommand } from '@esflow/core';

// The `invoking` test workflows (schemas in schemas/invoking): a job whose work is an invoked
// actor carried out as the durable command DoWork, with the output record WorkResult.

interface JobContext {
  readonly jobId: string;
  readonly result: string | null;
  readonly error: string | null;
}

/** A job whose work is an invoked actor; with `onError` or without (then a failure is an incident). */
export function invokingWorkflow(name: string, withOnError: boolean) {
  const machine = setup({
    types: {
      context: {} as JobContext,
      input: {} as { jobId: string },
      events: {} as { type: 'Abandon' },
    },
    actors: { doWork: durableCommand<{ jobId: string }, { result: string }>() },
  }).createMachine({
    id: name,
    initial: 'working',
    context: ({ input }) => ({ jobId: input.jobId, result: null, error: null }),
    states: {
      working: {
        invoke: {
          id: 'work',
          src: 'doWork',
          input: ({ context }) => ({ jobId: context.jobId }),
          onDone: {
            target: 'done',
            actions: assign({ result: ({ event }) => event.output.result }),
          },
          ...(withOnError
            ? {
                onError: {
                  target: 'failed',
                  actions: assign({
                    error: ({ event }) => (event.error as { message: string }).message,
                  }),
                },
              }
            : {}),
        },
        on: { Abandon: 'abandoned' },
      },
      done: { type: 'final' },
      failed: { type: 'final', meta: { status: 'failed' } },
      abandoned: { type: 'final', meta: { status: 'cancelled' } },
    },
  });
  return defineWorkflow({
    name,
    version: 1,
    machine,
    startEvent: 'JobStarted',
    schemaNamespace: 'esflow.invoking',
    invokes: { doWork: { command: 'DoWork', output: 'WorkResult' } },
    retries: { DoWork: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
  });
}

/** Both test workflows: `job` (with onError) and `strictJob` (a final failure is an incident). */
export const invokingWorkflows = () => [
  invokingWorkflow('job', true),
  invokingWorkflow('strictJob', false),
];
