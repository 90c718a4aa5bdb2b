import { isLoopback } from '../rest/http/http-edge';

/**
 * The warning a host logs at start-up when access control is off but it listens beyond
 * localhost (anyone who reaches the address may then start, change and rebuild everything), or
 * `undefined` when there is nothing to warn about.
 */
export function accessControlWarning(options: {
  readonly enabled: boolean;
  readonly listenHost: string;
}): string | undefined {
  if (options.enabled || isLoopback(options.listenHost)) return undefined;
  return `access control is off and esflow listens on ${options.listenHost}, beyond localhost: anyone who reaches it may read, start, change and rebuild everything. Turn it on (ESFLOW_AUTH=on with ESFLOW_API_KEYS or ESFLOW_JWT_*), or listen on 127.0.0.1`;
}
