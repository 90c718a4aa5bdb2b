import {
  ErrorCode,
  isEsflowError,
  MessageIndex,
  MigrateInstanceCommand,
  MigrateOutcome,
  Rejection,
  Result,
  WorkflowEngine,
} from '@esflow/core';

/** How many buffered messages of one instance a migration looks at (and checks against the target). */
export const WAITING_MESSAGES_LIMIT = 1_000;

/** What a migration needs besides the request: the engine and the message index. */
export interface InstanceMigrationPorts {
  readonly engine: WorkflowEngine;
  readonly messageIndex: MessageIndex;
}

/**
 * Migrates one instance as `command` asks (see `MigrateInstanceHandler` of @esflow/core), after
 * looking up the messages buffered for it in the message index (at most
 * {@link WAITING_MESSAGES_LIMIT}), which the target version must still declare.
 */
export async function migrateInstance(
  ports: InstanceMigrationPorts,
  command: Omit<MigrateInstanceCommand, 'waitingMessages'>,
): Promise<Result<MigrateOutcome>> {
  const buffered = await ports.messageIndex.bufferedFor(
    command.workflow,
    command.id,
    WAITING_MESSAGES_LIMIT,
  );
  return ports.engine.migrate.handle({
    ...command,
    waitingMessages: buffered.map(({ messageId, name }) => ({ messageId, name })),
  });
}

/** How one instance of a batch (or of `esflow migrate`) came out. */
export type MigrationVerdict =
  /** Migrated (in a dry run: would be). */
  | { readonly kind: 'migrated'; readonly outcome: MigrateOutcome }
  /** Nothing to do: on the target version already, or not running any more. */
  | { readonly kind: 'skipped'; readonly code: string; readonly message: string }
  /** The migration is not possible as asked (MIGRATION_REFUSED): nothing was written. */
  | { readonly kind: 'refused'; readonly code: string; readonly message: string }
  /** Another rejection, or a fault: nothing was written by this step. */
  | { readonly kind: 'failed'; readonly code: string; readonly message: string };

/** Whether a rejection says the instance needs no migration: it is on `toVersion`, or finished. */
function needsNone(rejection: Rejection, toVersion: number): boolean {
  if (rejection.code === ErrorCode.InstanceNotRunning) return true;
  return rejection.code === ErrorCode.MigrationRefused && rejection.fromVersion === toVersion;
}

/**
 * The verdict on one migration's result, or on what it threw: a re-run batch finds the instances
 * it migrated before on the target already (the engine refuses a same-version move), which is a
 * skip, not a refusal.
 */
export function migrationVerdict(
  result: Result<MigrateOutcome> | { readonly thrown: unknown },
  toVersion: number,
): MigrationVerdict {
  if ('thrown' in result) {
    const error = result.thrown;
    return {
      kind: 'failed',
      code: isEsflowError(error) ? error.code : ErrorCode.Internal,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  if (result.ok) return { kind: 'migrated', outcome: result.value };
  const { code, message } = result.rejection;
  if (needsNone(result.rejection, toVersion)) return { kind: 'skipped', code, message };
  return { kind: code === ErrorCode.MigrationRefused ? 'refused' : 'failed', code, message };
}
