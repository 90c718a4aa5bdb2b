import { DiscoveryService } from '@nestjs/core';
import { CommandHandler, ErrorCode, EsflowError, WorkflowCatalog } from '@esflow/core';

/**
 * Marks a Nest provider as the in-process handler of a command type, carried out by the
 * projector's command dispatcher:
 *
 * ```ts
 * @Injectable()
 * @EsflowCommandHandler('RefundPayment')
 * export class RefundPaymentHandler implements CommandHandler<RefundPayment> {
 *   constructor(private readonly payments: PaymentProvider) {}
 *   async handle(command: DispatchedCommand<RefundPayment>): Promise<CommandResult> { ... }
 * }
 * ```
 *
 * List the class in the workflow module's `providers`. One handler per command type in the
 * application; a type without one waits for external workers. Checked at start-up: a type that
 * no registered workflow dispatches, or two handlers for one type, stop the start with
 * INVALID_DEFINITION.
 */
export const EsflowCommandHandler = DiscoveryService.createDecorator<string>();

/**
 * The in-process handlers the application's modules provide, by command type: every provider
 * marked with {@link EsflowCommandHandler}, checked against the workflows' commands.
 */
export function discoverCommandHandlers(
  discovery: DiscoveryService,
  catalog: WorkflowCatalog,
): Map<string, CommandHandler> {
  const known = new Set(catalog.all().flatMap((definition) => definition.commands));
  const handlers = new Map<string, { handler: CommandHandler; by: string }>();
  for (const wrapper of discovery.getProviders({ metadataKey: EsflowCommandHandler.KEY })) {
    const commandType = discovery.getMetadataByDecorator(EsflowCommandHandler, wrapper);
    const instance = wrapper.instance as Partial<CommandHandler> | undefined;
    if (commandType === undefined || !instance) continue;
    const by = wrapper.name;
    const invalid = (rule: string) =>
      new EsflowError(ErrorCode.InvalidDefinition, `command handler ${by}: ${rule}`);
    if (typeof instance.handle !== 'function') throw invalid('must have a handle(command) method');
    if (!known.has(commandType))
      throw invalid(
        `handles ${commandType}, which no registered workflow dispatches (known: ${[...known].join(', ') || 'none'})`,
      );
    const other = handlers.get(commandType);
    if (other && other.handler !== instance)
      throw invalid(`${commandType} has a handler already: ${other.by}; keep one`);
    handlers.set(commandType, { handler: instance as CommandHandler, by });
  }
  return new Map([...handlers].map(([type, { handler }]) => [type, handler]));
}
