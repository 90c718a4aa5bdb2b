/**
 * An XState state value: the state's name, or, for nested and parallel states, an object of
 * region → state value (as `metadata.stateAfter` and the read models keep it).
 */
export const STATE_VALUE_SCHEMA = {
  description:
    'XState state value: the state name, or an object of region → state value for nested/parallel states',
  oneOf: [
    { type: 'string', example: 'awaitingPayment' },
    {
      type: 'object',
      additionalProperties: true,
      example: { payment: 'authorised', shipping: 'packing' },
    },
  ],
};

/** A state value, or null (`metadata.stateBefore` of an instance's first event). */
export const STATE_VALUE_OR_NULL_SCHEMA = {
  description: STATE_VALUE_SCHEMA.description,
  oneOf: [
    { type: 'string' },
    // OpenAPI 3.0 has no null type: null is admitted by the object branch only, so one branch matches.
    { type: 'object', additionalProperties: true, nullable: true },
  ],
};
