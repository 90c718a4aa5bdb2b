import type { INestApplication } from '@nestjs/common';

/** One route the app serves: its method and a concrete path to call it with. */
export interface AppRoute {
  readonly method: string;
  /** The route's pattern, as Express holds it (`/workflows/:workflow/:id`). */
  readonly pattern: string;
  /** The pattern with every parameter filled in (`/workflows/x1/x1`). */
  readonly path: string;
}

interface RouteLayer {
  readonly route?: { readonly path: string; readonly methods: Readonly<Record<string, boolean>> };
}

/**
 * Every route of `app`, read from its Express router (Nest's controllers, the host's and any
 * added later, and what `SwaggerModule` mounts), so a new route is covered without a list to
 * keep. Layers that answer (nearly) every method are middleware mounted for all of them, not
 * routes, and are left out.
 */
export function routesOf(app: INestApplication): AppRoute[] {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack?: RouteLayer[] } };
  const routes: AppRoute[] = [];
  for (const layer of express.router?.stack ?? []) {
    if (!layer.route) continue;
    const methods = Object.keys(layer.route.methods).filter((method) => method !== '_all');
    if (layer.route.methods['_all'] || methods.length >= 10) continue;
    const pattern = layer.route.path;
    const path = pattern
      .replace(/\{\/?\*[^}]*\}/g, '')
      .replace(/:\w+/g, 'x1')
      .replace(/\*\w*/g, 'x1');
    for (const method of methods) routes.push({ method: method.toUpperCase(), pattern, path });
  }
  return routes;
}

/** A request as the suites send it: a JSON body (`{}`) on every state-changing method. */
export async function call(
  baseUrl: string,
  route: AppRoute,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> | string }> {
  const safe = route.method === 'GET' || route.method === 'HEAD';
  const response = await fetch(`${baseUrl}${route.path}`, {
    method: route.method,
    headers: safe ? headers : { 'content-type': 'application/json', ...headers },
    ...(safe ? {} : { body: '{}' }),
  });
  const text = await response.text();
  let body: Record<string, unknown> | string = text;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (metrics, HTML): kept as text.
  }
  return { status: response.status, headers: response.headers, body };
}
