import { ErrorCode } from '../errors/esflow-error';
import { Rejection } from '../errors/rejection';
import { IdGenerator } from '../ports/id-generator.port';
import { canonicalJson } from '../projections/canonical-json';
import { InstanceState } from '../workflow/instance-state';

/** What identifies one request: its operation and everything its body says. */
export interface RequestIdentity {
  readonly operation: 'start' | 'send';
  readonly workflow: string;
  /** The instance id the caller gave (a start may leave it to the business key). */
  readonly id?: string;
  /** The event type, for a send. */
  readonly type?: string;
  readonly body: unknown;
}

/**
 * The fingerprint of a request: a deterministic id of its canonical JSON (key order does not
 * matter), kept with the request's first event when it carries an idempotency key.
 */
export function requestFingerprint(ids: IdGenerator, request: RequestIdentity): string {
  return ids.deterministic(`esflow/request/${canonicalJson(request)}`);
}

/**
 * An idempotency key identifies one request on one instance. When the key's earlier request
 * (recorded on `state` with fingerprint `recorded`) was another one (another operation, type or
 * body), the new one is refused; a repeat of the same request is not (the caller replays the
 * first answer). Requests recorded before fingerprints were kept count as the same.
 */
export function keyReusedFor(
  state: InstanceState,
  recorded: string | undefined,
  fingerprint: string,
  key: string,
): Rejection | undefined {
  if (recorded === undefined || recorded === fingerprint) return undefined;
  return {
    code: ErrorCode.IdempotencyKeyReused,
    message: `Idempotency-Key ${key} was already used on ${state.definition.name} instance ${state.instanceId} for another request (another operation, event type or body); use a new key for a new request`,
    idempotencyKey: key,
  };
}
