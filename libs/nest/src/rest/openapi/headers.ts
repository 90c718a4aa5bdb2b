/** The headers of the REST contract v1, as OpenAPI header and parameter objects. */

/** Idempotency-Key and X-Correlation-Id: 1–255 visible ASCII characters (`parseToken`). */
const TOKEN = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[!-~]+$' };

/** `Idempotency-Key`: repeating a request with the same key answers the first result again. */
export const IDEMPOTENCY_KEY_HEADER = (description: string) => ({
  name: 'Idempotency-Key',
  required: false,
  description: `${description} A key identifies one request on one instance: reused for another request it is 422 IDEMPOTENCY_KEY_REUSED.`,
  schema: { ...TOKEN, example: 'pay-order-1001' },
});

/** `X-Correlation-Id`: recorded in the events' metadata (not echoed in the answer). */
export const CORRELATION_ID_HEADER = {
  name: 'X-Correlation-Id',
  required: false,
  description:
    "Correlation id recorded in the events' metadata (default: the start event's id, inherited by later events). Not echoed in the answer.",
  schema: TOKEN,
};

/** `If-Match`: the revision the client last saw (`parseIfMatch`). */
export const IF_MATCH_HEADER = {
  name: 'If-Match',
  required: false,
  description:
    'The revision the client last saw (the ETag, e.g. `"3"`; `W/"3"` and `3` are read too; `*`: no precondition). A stale one is 409 REVISION_CONFLICT.',
  schema: {
    type: 'string',
    pattern: '^\\s*(\\*|(W/)?"?\\d{1,15}"?)\\s*$',
    example: '"0"',
  },
};

/** `ETag`: the instance's revision, quoted. */
export const ETAG_HEADER = {
  description: "The instance's revision, quoted: send it back as `If-Match`",
  required: true,
  schema: { type: 'string', pattern: '^"\\d+"$', example: '"0"' },
};

/** `Location` of a started instance. */
export const LOCATION_HEADER = {
  description: 'Where the instance is read: `/workflows/{workflow}/{id}` (the id percent-encoded)',
  required: true,
  schema: { type: 'string', format: 'uri-reference', pattern: '^/workflows/[^/]+/[^/]+$' },
};

/** `Idempotent-Replayed: true` on a repeated request answered with the first result. */
export const IDEMPOTENT_REPLAYED_HEADER = {
  description:
    '`true` when this is the answer to an earlier request with the same Idempotency-Key (nothing was appended); absent otherwise',
  required: false,
  schema: { type: 'string', enum: ['true'] },
};

/** `Esflow-Consistency` of a list read with `waitFor`. */
export const CONSISTENCY_HEADER = {
  description:
    'With `waitFor` only: `fresh` if the read model had applied the revision, `stale` if the 5 s wait timed out',
  required: false,
  schema: { type: 'string', enum: ['fresh', 'stale'] },
};
