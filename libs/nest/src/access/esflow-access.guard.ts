import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ErrorCode, EsflowError } from '@esflow/core';
import { writeProblem } from '../rest/http/problem-details.filter';
import { setPrincipal } from '../rest/http/principal';
import {
  ESFLOW_ACCESS_OPTIONS,
  EsflowAccessRequirement,
  ResolvedAccessOptions,
} from './access-options';
import { apiKeyVerifier } from './api-keys';
import { ESFLOW_ACCESS_METADATA } from './esflow-access.decorator';
import { CredentialCheck, jwtVerifier } from './jwt-verifier';

/** Methods that change nothing: a `reader` may call them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const under = (path: string, root: string) => path === root || path.startsWith(`${root}/`);

/**
 * What a request needs, by rule: the route's {@link EsflowAccess} declaration (handler, then
 * controller); otherwise `/health` (and below) and `/metrics` as configured; otherwise `reader`
 * for GET, HEAD and OPTIONS and `operator` for every other method.
 */
export function requirementOf(
  options: Pick<ResolvedAccessOptions, 'health' | 'metrics'>,
  method: string,
  path: string,
  declared?: EsflowAccessRequirement,
): EsflowAccessRequirement {
  if (declared) return declared;
  if (under(path, '/health')) return options.health;
  if (under(path, '/metrics')) return options.metrics;
  return SAFE_METHODS.has(method.toUpperCase()) ? 'reader' : 'operator';
}

/** A JWT in compact form: three base64url parts. */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The cookie in which the debugger UI keeps the credentials its pages are read with. */
export const UI_CREDENTIALS_COOKIE = 'esflow_ui_credentials';

/**
 * esflow's access control, a global guard (`EsflowAccessModule` provides it as `APP_GUARD`, so
 * every controller of the app is covered, those added later too). Off, it lets everything
 * through and sets no principal (`principalOf` answers `anonymous`). On, each request to a route
 * that is not public must carry an API key (`X-API-Key`, or `Authorization: Bearer <key>`) or a
 * JWT (`Authorization: Bearer <jwt>`): without valid credentials it is answered 401
 * UNAUTHENTICATED with a `WWW-Authenticate` challenge, with a role that does not allow the call
 * 403 FORBIDDEN, both as problem details and before the handler runs; otherwise the principal is
 * set on the request (`setPrincipal`) for the handler to record.
 */
@Injectable()
export class EsflowAccessGuard implements CanActivate {
  private readonly apiKey: ReturnType<typeof apiKeyVerifier>;
  private readonly jwt?: ReturnType<typeof jwtVerifier>;

  constructor(
    private readonly reflector: Reflector,
    @Inject(ESFLOW_ACCESS_OPTIONS) private readonly options: ResolvedAccessOptions,
  ) {
    this.apiKey = apiKeyVerifier(options.apiKeys);
    if (options.jwt) this.jwt = jwtVerifier(options.jwt);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.options.enabled || context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const requirement = requirementOf(
      this.options,
      request.method,
      request.path,
      this.reflector.getAllAndOverride<EsflowAccessRequirement | undefined>(
        ESFLOW_ACCESS_METADATA,
        [context.getHandler(), context.getClass()],
      ),
    );
    if (requirement === 'public') return true;
    let check: CredentialCheck | undefined;
    try {
      check = await this.authenticate(request);
    } catch (error) {
      return this.refuse(request, response, error);
    }
    if (!check)
      return this.refuse(
        request,
        response,
        new EsflowError(
          ErrorCode.Unauthenticated,
          'this call needs credentials: an API key (X-API-Key or Authorization: Bearer) or a JWT (Authorization: Bearer)',
        ),
        this.challenge(),
      );
    if (!check.ok)
      return this.refuse(
        request,
        response,
        new EsflowError(ErrorCode.Unauthenticated, `the credentials are refused: ${check.reason}`),
        this.challenge(check.reason),
      );
    const { principal } = check;
    setPrincipal(request, principal);
    if (principal.roles.includes(requirement)) return true;
    return this.refuse(
      request,
      response,
      new EsflowError(
        ErrorCode.Forbidden,
        `this call needs the ${requirement} role; ${principal.id} has ${principal.roles.length > 0 ? principal.roles.join(' and ') : 'no esflow role'}`,
        { details: { requiredRole: requirement, roles: [...principal.roles] } },
      ),
    );
  }

  /** The credentials the request carries, checked; `undefined` when it carries none. */
  private async authenticate(request: Request): Promise<CredentialCheck | undefined> {
    const apiKey = request.headers['x-api-key'];
    if (typeof apiKey === 'string') {
      const principal = this.apiKey(apiKey.trim());
      return principal
        ? { ok: true, principal }
        : { ok: false, reason: 'the API key is not known' };
    }
    const authorization = request.headers.authorization ?? this.uiPageCredentials(request);
    if (authorization === undefined) return undefined;
    const bearer = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
    if (!bearer)
      return {
        ok: false,
        reason: 'only Authorization: Bearer <JWT or API key> is accepted (or X-API-Key)',
      };
    const token = bearer[1]!;
    const principal = this.apiKey(token);
    if (principal) return { ok: true, principal };
    if (this.jwt && COMPACT_JWT.test(token)) return this.jwt(token);
    return {
      ok: false,
      reason: this.jwt
        ? 'the bearer token is neither a known API key nor a JWT'
        : 'the API key is not known',
    };
  }

  /**
   * A debugger UI page read by a browser, which cannot add headers to a link it follows: the
   * credentials the UI keeps in its `esflow_ui_credentials` cookie (path `/ui`, SameSite=Strict).
   * Only for reads under `/ui`: every action the UI takes is a fetch that sends the header.
   */
  private uiPageCredentials(request: Request): string | undefined {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    if (request.path !== '/ui' && !request.path.startsWith('/ui/')) return undefined;
    const cookie = request.headers.cookie
      ?.split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${UI_CREDENTIALS_COOKIE}=`));
    if (!cookie) return undefined;
    const value = decodeURIComponent(cookie.slice(UI_CREDENTIALS_COOKIE.length + 1));
    return value === '' ? undefined : `Bearer ${value}`;
  }

  /** RFC 6750's challenge, saying why a presented token was refused. */
  private challenge(reason?: string): string {
    const realm = `Bearer realm="${this.options.realm}"`;
    return reason === undefined
      ? realm
      : `${realm}, error="invalid_token", error_description="${reason.replaceAll('"', "'")}"`;
  }

  /** Answers the refusal as problem details, and stops the request there. */
  private refuse(request: Request, response: Response, error: unknown, challenge?: string): false {
    if (challenge !== undefined) response.setHeader('WWW-Authenticate', challenge);
    writeProblem(request, response, error);
    return false;
  }
}
