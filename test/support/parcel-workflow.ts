import { join } from 'node:path';
import { emit, setup } from 'xstate';
import { defineWorkflow } from '@esflow/core';

// The `parcel` test workflow (schemas in schemas/parcel): a parcel that emits the command
// DeliverParcel when it is sent, which an external worker carries out, and whose reply event
// ParcelDelivered completes it.

/** Schemas of the `parcel` test workflow (ParcelSent, DeliverParcel, ParcelDelivered). */
export const PARCEL_SCHEMAS = join(__dirname, 'schemas/parcel');

const parcelMachine = setup({
  types: {
    context: {} as { parcelId: string; signedBy: string | null },
    input: {} as { parcelId: string },
    events: {} as { type: 'ParcelDelivered'; signedBy: string },
    emitted: {} as { type: 'DeliverParcel'; parcelId: string },
  },
}).createMachine({
  id: 'parcel',
  initial: 'inTransit',
  context: ({ input }) => ({ parcelId: input.parcelId, signedBy: null }),
  states: {
    inTransit: {
      entry: emit(({ context }) => ({
        type: 'DeliverParcel' as const,
        parcelId: context.parcelId,
      })),
      on: { ParcelDelivered: 'delivered' },
    },
    delivered: { type: 'final' },
  },
});

/** The parcel workflow: DeliverParcel is retried 3 times, a few ms apart. */
export const parcelWorkflow = defineWorkflow({
  name: 'parcel',
  version: 1,
  machine: parcelMachine,
  startEvent: 'ParcelSent',
  commands: ['DeliverParcel'],
  retries: { DeliverParcel: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
});
