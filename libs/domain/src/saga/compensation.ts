import { assign } from 'xstate';
import type {
  ActionArgs,
  ActionFunction,
  AnyEventObject,
  EventObject,
  LowInfer,
  MachineContext,
  MetaObject,
  ParameterizedObject,
  ProvidedActor,
  StateNodeConfig,
} from 'xstate';
import { ErrorCode, EsflowError } from '../errors/esflow-error';
import type { InvokedCommand } from '../workflow/workflow-definition';

/** Actor names are camelCase, like the `invokes` keys they become. */
const ACTOR_NAME = /^[a-z][A-Za-z0-9]*$/;
/** Command types are PascalCase, like every other type esflow records. */
const COMMAND_TYPE = /^[A-Z][A-Za-z0-9]*$/;
/** The compensating state's own children, which no compensation may be named. */
const RESERVED = ['next', 'finished'];

/** One step of a saga that was carried out, with the command that undoes it. */
export interface SagaStep<TCompensation extends string = string> {
  /** What was done, for the people who read the context (e.g. `account`). */
  readonly step: string;
  /** The compensating actor, by name (e.g. `closeAccount`): one of {@link defineCompensations}'. */
  readonly compensation: TCompensation;
  /** The compensation command's payload, fixed when the step was done (e.g. the account id). */
  readonly input: Readonly<Record<string, unknown>>;
}

/** What a saga remembers, in its machine's context under `saga`. Plain JSON: replay rebuilds it. */
export interface SagaLog<TCompensation extends string = string> {
  /** The steps done and not compensated (yet), in the order they were done. */
  readonly done: readonly SagaStep<TCompensation>[];
  /** The steps compensated, in the order their compensations completed: the last done first. */
  readonly compensated: readonly SagaStep<TCompensation>[];
  /** Why the saga is compensated (the first reason recorded); null while it goes forward. */
  readonly reason: string | null;
}

/** The context of a machine that uses {@link defineCompensations}: it keeps a {@link SagaLog}. */
export interface SagaContext<TCompensation extends string = string> extends MachineContext {
  readonly saga: SagaLog<TCompensation>;
}

/** What {@link Compensations.state} takes. */
export interface CompensatingStateOptions<TCompensation extends string = string> {
  /** Where the saga goes once every step is compensated: a state target, e.g. `rolledBack`. */
  readonly onDone: string;
  /**
   * The payload of a step's compensation command, from the context at the time it is invoked
   * (e.g. to add the saga's reason); the step's recorded `input` when not given.
   */
  readonly input?: (args: {
    readonly context: SagaContext<TCompensation>;
    readonly step: SagaStep<TCompensation>;
  }) => Readonly<Record<string, unknown>>;
}

/**
 * The compensations of a saga: "undo what was done, in reverse", for an esflow workflow whose
 * steps are durable commands. Made by {@link defineCompensations}; used in the machine as
 *
 * ```ts
 * context: ({ input }) => ({ ...input, saga: compensations.log() }),
 * // a step's onDone, once it is done:
 * actions: compensations.recordStep(({ event }) => ({
 *   step: 'account', compensation: 'closeAccount', input: { accountId: event.output.accountId },
 * })),
 * // a failure: say why, and go compensate
 * onError: { target: 'compensating', actions: compensations.recordFailure('account failed') },
 * states: { compensating: compensations.state({ onDone: 'rolledBack' }), ... },
 * ```
 * and in `defineWorkflow({ invokes: { ...compensations.invokes, ... } })`.
 *
 * The guarantees, given that esflow folds the machine with XState's pure `transition()` and
 * records every invoke as a durable command:
 * - every step recorded and not compensated is compensated, the most recent first, one at a
 *   time: a compensation is invoked only once the one before it has completed;
 * - each compensation is a durable command (`CommandDispatched`), attempted at least once per
 *   its type's retry policy, with a command id that stays the same across attempts (make its
 *   effect idempotent by it); its completion is recorded once, and only then is the step taken
 *   off `saga.done` and put on `saga.compensated`;
 * - a compensation is never skipped: one that fails for good raises an incident (the state has
 *   no `onError`) and the saga waits for an operator: a retry (`POST /incidents/{id}/retry`)
 *   runs it again, a resolution by hand (`/resolve`) counts it as done and the saga moves on;
 * - a step counts once it is recorded, normally in its invoke's `onDone`: a step whose own
 *   command failed for good is not compensated, so its handler must do all or nothing;
 * - with nothing done, the compensating state goes straight to `onDone`.
 */
export interface Compensations<TCompensation extends string> {
  /**
   * The compensating actors as `defineWorkflow({ invokes })` entries: each carried out as its
   * command (e.g. `closeAccount` → `CloseAccount`), with no output.
   */
  readonly invokes: Readonly<Record<TCompensation, InvokedCommand>>;
  /** The log a saga starts with: nothing done, or the steps its start already did. */
  log(...done: readonly SagaStep<TCompensation>[]): SagaLog<TCompensation>;
  /**
   * An `assign` action that records a step as done (it is compensated if the saga fails later).
   * Throws INVALID_DEFINITION, from the transition, for a compensation not declared.
   */
  recordStep<
    TContext extends SagaContext<TCompensation>,
    TExpressionEvent extends AnyEventObject,
    TParams extends ParameterizedObject['params'] | undefined,
    TEvent extends EventObject,
    TActor extends ProvidedActor,
  >(
    step:
      | SagaStep<TCompensation>
      | ((
          args: ActionArgs<LowInfer<TContext>, TExpressionEvent, TEvent>,
        ) => SagaStep<TCompensation>),
  ): ActionFunction<
    TContext,
    TExpressionEvent,
    TEvent,
    TParams,
    TActor,
    never,
    never,
    never,
    never
  >;
  /**
   * An `assign` action that records why the saga is compensated (kept only if none is recorded
   * yet); put it on the transition into the compensating state.
   */
  recordFailure<
    TContext extends SagaContext<TCompensation>,
    TExpressionEvent extends AnyEventObject,
    TParams extends ParameterizedObject['params'] | undefined,
    TEvent extends EventObject,
    TActor extends ProvidedActor,
  >(
    reason: string | ((args: ActionArgs<LowInfer<TContext>, TExpressionEvent, TEvent>) => string),
  ): ActionFunction<
    TContext,
    TExpressionEvent,
    TEvent,
    TParams,
    TActor,
    never,
    never,
    never,
    never
  >;
  /**
   * The compensating state: a compound state with a child per compensating actor, each invoking
   * it for the most recent step not compensated, until none is left; then `onDone`. Its state
   * value names the compensation in progress (`{ compensating: 'closeAccount' }`).
   */
  state<
    TContext extends SagaContext<TCompensation>,
    TEvent extends EventObject,
    TActor extends ProvidedActor,
    TAction extends ParameterizedObject,
    TGuard extends ParameterizedObject,
    TDelay extends string,
    TTag extends string,
    TOutput,
    TEmitted extends EventObject,
    TMeta extends MetaObject,
  >(
    options: CompensatingStateOptions<TCompensation>,
  ): StateNodeConfig<
    TContext,
    TEvent,
    TActor,
    TAction,
    TGuard,
    TDelay,
    TTag,
    TOutput,
    TEmitted,
    TMeta
  >;
}

function invalid(message: string): EsflowError {
  return new EsflowError(ErrorCode.InvalidDefinition, `compensations: ${message}`);
}

/**
 * Declares a saga's compensations, by the name of the actor that carries each out and the
 * command it becomes: `defineCompensations({ closeAccount: 'CloseAccount', rollbackUser:
 * 'RollbackUser' })`. Throws INVALID_DEFINITION for none, for an actor name that is not
 * camelCase, or for a command type that is not PascalCase. See {@link Compensations} for how a
 * machine uses them and what they guarantee.
 */
export function defineCompensations<const TCommands extends Readonly<Record<string, string>>>(
  commands: TCommands,
): Compensations<keyof TCommands & string> {
  type Name = keyof TCommands & string;
  const names = Object.keys(commands) as Name[];
  if (names.length === 0) throw invalid('declare at least one, as { actorName: "CommandType" }');
  for (const name of names) {
    if (!ACTOR_NAME.test(name))
      throw invalid(
        `actor name "${name}" must be camelCase letters and digits (e.g. closeAccount)`,
      );
    if (RESERVED.includes(name))
      throw invalid(`actor name "${name}" is taken by the compensating state's own states`);
    if (!COMMAND_TYPE.test(commands[name]!))
      throw invalid(
        `${name}: command type "${commands[name]}" must be PascalCase (e.g. CloseAccount)`,
      );
  }
  const invokes = Object.fromEntries(
    names.map((name) => [name, { command: commands[name]! }]),
  ) as Record<Name, InvokedCommand>;

  const withSaga = <TContext extends SagaContext<Name>>(
    context: TContext,
    saga: SagaLog<Name>,
  ): Partial<TContext> => ({ saga }) as unknown as Partial<TContext>;
  const last = (context: SagaContext<Name>) => context.saga.done[context.saga.done.length - 1];

  return {
    invokes,
    log: (...done) => ({ done: [...done], compensated: [], reason: null }),
    recordStep: (step) =>
      assign((args) => {
        const done = typeof step === 'function' ? step(args) : step;
        if (!names.includes(done.compensation))
          throw invalid(
            `step ${done.step}: compensation "${done.compensation}" is not one of ${names.join(', ')}`,
          );
        return withSaga(args.context, {
          ...args.context.saga,
          done: [...args.context.saga.done, done],
        });
      }),
    recordFailure: (reason) =>
      assign((args) =>
        withSaga(args.context, {
          ...args.context.saga,
          reason:
            args.context.saga.reason ?? (typeof reason === 'function' ? reason(args) : reason),
        }),
      ),
    // Typed by the interface: the config fits any machine whose context keeps a saga log.
    state: ((options: CompensatingStateOptions<Name>) => {
      const inputOf = options.input ?? (({ step }: { step: SagaStep<Name> }) => step.input);
      const config = {
        initial: 'next',
        states: {
          // Picks the compensation of the most recent step left; with none left, finishes.
          next: {
            always: [
              ...names.map((name) => ({
                guard: ({ context }: { context: SagaContext<Name> }) =>
                  last(context)?.compensation === name,
                target: name,
              })),
              {
                guard: ({ context }: { context: SagaContext<Name> }) =>
                  context.saga.done.length === 0,
                target: 'finished',
              },
            ],
          },
          ...Object.fromEntries(
            names.map((name) => [
              name,
              {
                invoke: {
                  id: name,
                  src: name,
                  input: ({ context }: { context: SagaContext<Name> }) =>
                    inputOf({ context, step: last(context)! }),
                  // No onError: a compensation that fails for good is an incident, never skipped.
                  onDone: {
                    target: 'next',
                    actions: assign(({ context }: { context: SagaContext<Name> }) => ({
                      saga: {
                        ...context.saga,
                        done: context.saga.done.slice(0, -1),
                        compensated: [...context.saga.compensated, last(context)!],
                      },
                    })),
                  },
                },
              },
            ]),
          ),
          finished: { type: 'final' },
        },
        onDone: { target: options.onDone },
      };
      return config;
    }) as unknown as Compensations<Name>['state'],
  };
}
