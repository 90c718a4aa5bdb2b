/**
 * @esflow/core/append-rules — the event-store port's append rules (a retried append, the
 * expected-revision check) and the errors they raise, on their own: for adapter code that must
 * load nothing else, such as the SQLite store's commit thread. Everything here is also exported
 * by `@esflow/core`.
 * @packageDocumentation
 */
export { recognisePriorAppend } from '../event-store/append-retry';
export { describeExpectedRevision, satisfiesExpectedRevision } from '../event-store/position';
export {
  ErrorCode,
  EsflowError,
  isEsflowError,
  RevisionConflictError,
} from '../errors/esflow-error';
export type {
  AppendResult,
  ExpectedRevision,
  GlobalPosition,
  StoredEventRef,
} from '../event-store/event-store.port';
