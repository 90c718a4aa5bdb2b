import { readFileSync } from 'node:fs';
import { isEsflowError } from '@esflow/core';
import {
  EsflowAccessOptions,
  EsflowApiKey,
  EsflowJwtOptions,
  resolveAccessOptions,
} from '@esflow/nest';

/** What {@link accessFromEnvironment} read: the options, or what is wrong, variable by variable. */
export interface AccessEnvironment {
  readonly access: EsflowAccessOptions;
  /** One line per bad variable (`  - ESFLOW_API_KEYS: ...`), never showing a secret. */
  readonly problems: readonly string[];
}

const problem = (variable: string, message: string) => `  - ${variable}: ${message}`;
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim().length > 0 ? value.trim() : undefined;

/** `name:role:key` entries (the key may hold `:`), from a list or the lines of a file. */
function parseApiKeys(
  entries: readonly { entry: string; where: string }[],
  variable: string,
  problems: string[],
): EsflowApiKey[] {
  const keys: EsflowApiKey[] = [];
  for (const { entry, where } of entries) {
    const [name, role, ...rest] = entry.split(':');
    const key = rest.join(':');
    if (name === undefined || role === undefined || key.length === 0) {
      problems.push(problem(variable, `${where} must be name:role:key`));
      continue;
    }
    if (!/^[A-Za-z0-9._@-]{1,100}$/.test(name))
      problems.push(problem(variable, `${where}: the name must be 1–100 of [A-Za-z0-9._@-]`));
    else if (role !== 'reader' && role !== 'operator')
      problems.push(problem(variable, `${where} (${name}): the role must be reader or operator`));
    else if (key.length < 16 || /\s/.test(key))
      problems.push(
        problem(variable, `${where} (${name}): the key must be at least 16 characters, no spaces`),
      );
    else keys.push({ name, role, key });
  }
  return keys;
}

/** Which variable an option named in a `resolveAccessOptions` message comes from. */
function variableOf(message: string): string {
  const pairs: [string, string][] = [
    ['jwt.algorithms', 'ESFLOW_JWT_ALGORITHMS'],
    ['jwt.secret', 'ESFLOW_JWT_SECRET'],
    ['jwt.publicKey', 'ESFLOW_JWT_PUBLIC_KEY'],
    ['jwt.jwksUrl', 'ESFLOW_JWT_JWKS_URL'],
    ['jwt.rolesClaim', 'ESFLOW_JWT_ROLES_CLAIM'],
    ['jwt.issuer', 'ESFLOW_JWT_ISSUER'],
    ['jwt.audience', 'ESFLOW_JWT_AUDIENCE'],
    ['apiKeys', 'ESFLOW_API_KEYS'],
  ];
  return pairs.find(([option]) => message.includes(option))?.[1] ?? 'ESFLOW_AUTH';
}

/**
 * Access control from the environment:
 * - `ESFLOW_AUTH` `on` or `off`; unset, it is on as soon as a way in is configured, off otherwise;
 * - `ESFLOW_API_KEYS` (`name:role:key,...`) and/or `ESFLOW_API_KEYS_FILE` (one `name:role:key`
 *   a line, `#` comments), role `reader` or `operator`;
 * - JWTs: `ESFLOW_JWT_ISSUER` and `ESFLOW_JWT_AUDIENCE` with one of `ESFLOW_JWT_JWKS_URL`,
 *   `ESFLOW_JWT_SECRET` or `ESFLOW_JWT_PUBLIC_KEY` (PEM, `\n` allowed for newlines), and
 *   optionally `ESFLOW_JWT_ALGORITHMS` (comma-separated) and `ESFLOW_JWT_ROLES_CLAIM`;
 * - `ESFLOW_AUTH_HEALTH` and `ESFLOW_AUTH_METRICS`: `public` or `reader`.
 * Every bad variable is a problem naming it; secrets are never repeated.
 */
export function accessFromEnvironment(env: Readonly<Record<string, unknown>>): AccessEnvironment {
  const problems: string[] = [];
  const mode = text(env['ESFLOW_AUTH']);
  if (mode !== undefined && mode !== 'on' && mode !== 'off')
    problems.push(problem('ESFLOW_AUTH', 'ESFLOW_AUTH must be on or off'));
  const list = text(env['ESFLOW_API_KEYS']);
  const apiKeys = list
    ? parseApiKeys(
        list.split(',').map((entry, i) => ({ entry: entry.trim(), where: `entry ${i + 1}` })),
        'ESFLOW_API_KEYS',
        problems,
      )
    : [];
  const file = text(env['ESFLOW_API_KEYS_FILE']);
  if (file) {
    let content: string | undefined;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(
        problem('ESFLOW_API_KEYS_FILE', `cannot read ${file}: ${(error as Error).message}`),
      );
    }
    if (content !== undefined)
      apiKeys.push(
        ...parseApiKeys(
          content
            .split(/\r?\n/)
            .map((line, i) => ({ entry: line.trim(), where: `line ${i + 1}` }))
            .filter(({ entry }) => entry.length > 0 && !entry.startsWith('#')),
          'ESFLOW_API_KEYS_FILE',
          problems,
        ),
      );
  }
  const sources = {
    jwksUrl: text(env['ESFLOW_JWT_JWKS_URL']),
    secret: text(env['ESFLOW_JWT_SECRET']),
    publicKey: text(env['ESFLOW_JWT_PUBLIC_KEY'])?.replaceAll('\\n', '\n'),
  };
  const issuer = text(env['ESFLOW_JWT_ISSUER']);
  const audience = text(env['ESFLOW_JWT_AUDIENCE']);
  const given = Object.entries(sources).filter(([, value]) => value !== undefined);
  let jwt: EsflowJwtOptions | undefined;
  if (given.length > 1)
    problems.push(
      problem(
        'ESFLOW_JWT_JWKS_URL',
        'set only one of ESFLOW_JWT_JWKS_URL, ESFLOW_JWT_SECRET and ESFLOW_JWT_PUBLIC_KEY',
      ),
    );
  if (given.length === 0 && (issuer || audience))
    problems.push(
      problem(
        issuer ? 'ESFLOW_JWT_ISSUER' : 'ESFLOW_JWT_AUDIENCE',
        'JWTs need a key to check them: set ESFLOW_JWT_JWKS_URL, ESFLOW_JWT_SECRET or ESFLOW_JWT_PUBLIC_KEY',
      ),
    );
  if (given.length > 0) {
    if (!issuer)
      problems.push(problem('ESFLOW_JWT_ISSUER', 'JWTs need the issuer every token must carry'));
    if (!audience)
      problems.push(
        problem('ESFLOW_JWT_AUDIENCE', 'JWTs need the audience every token must include'),
      );
    const algorithms = text(env['ESFLOW_JWT_ALGORITHMS']);
    const rolesClaim = text(env['ESFLOW_JWT_ROLES_CLAIM']);
    jwt = {
      issuer: issuer ?? '',
      audience: audience ?? '',
      ...Object.fromEntries(given),
      ...(algorithms ? { algorithms: algorithms.split(',').map((a) => a.trim()) } : {}),
      ...(rolesClaim ? { rolesClaim } : {}),
    };
  }
  const routes: { health?: 'public' | 'reader'; metrics?: 'public' | 'reader' } = {};
  for (const [route, variable] of [
    ['health', 'ESFLOW_AUTH_HEALTH'],
    ['metrics', 'ESFLOW_AUTH_METRICS'],
  ] as const) {
    const value = text(env[variable]);
    if (value === undefined) continue;
    if (value === 'public' || value === 'reader') routes[route] = value;
    else problems.push(problem(variable, `${variable} must be public or reader`));
  }
  const configured = apiKeys.length > 0 || jwt !== undefined;
  const enabled = mode === undefined ? configured : mode === 'on';
  if (mode === 'on' && !configured && problems.length === 0)
    problems.push(
      problem(
        'ESFLOW_AUTH',
        'access control is on but nothing lets a caller in: set ESFLOW_API_KEYS, ESFLOW_API_KEYS_FILE or ESFLOW_JWT_*',
      ),
    );
  const access: EsflowAccessOptions = {
    enabled,
    ...(apiKeys.length > 0 ? { apiKeys } : {}),
    ...(jwt ? { jwt } : {}),
    ...routes,
  };
  if (problems.length === 0)
    try {
      resolveAccessOptions(access);
    } catch (error) {
      if (!isEsflowError(error)) throw error;
      const message = error.message.replace(/^EsflowAccessModule: /, '');
      problems.push(problem(variableOf(message), message));
    }
  return { access, problems };
}
