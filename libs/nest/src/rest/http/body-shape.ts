/** How deep a request body may nest: far beyond any payload, far below a stack overflow. */
export const MAX_JSON_DEPTH = 64;

/** Paths are cut here in messages, so that an error never echoes a large part of the input. */
const MAX_PATH_LENGTH = 200;

/** A lone UTF-16 surrogate: matched by `\p{Cs}` in a Unicode regex, where pairs are one code point. */
const LONE_SURROGATE = /\p{Cs}/u;

/** What is wrong with a parsed body's shape, and where. */
export interface BodyProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * The first place where a parsed JSON body is nested deeper than {@link MAX_JSON_DEPTH} levels, or
 * holds a string (value or key) that is not well-formed Unicode (a lone UTF-16 surrogate, which
 * JSON allows as `\ud800` but UTF-8 storage cannot keep); undefined when there is none. Iterative,
 * so the depth of the body cannot overflow the stack.
 */
export function findBodyProblem(body: unknown): BodyProblem | undefined {
  const pending: { value: unknown; path: string; depth: number }[] = [
    { value: body, path: '', depth: 0 },
  ];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value))
        return { path: shorten(path), message: 'holds a string that is not valid Unicode' };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH)
      return {
        path: shorten(path),
        message: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
      };
    const entries = Array.isArray(value)
      ? value.map((item, index) => [String(index), item] as const)
      : Object.entries(value);
    for (const [key, item] of entries) {
      const at = path ? `${path}.${key}` : key;
      if (LONE_SURROGATE.test(key))
        return { path: shorten(path), message: 'holds a key that is not valid Unicode' };
      pending.push({ value: item, path: at, depth: depth + 1 });
    }
  }
  return undefined;
}

function shorten(path: string): string {
  return path.length > MAX_PATH_LENGTH ? `${path.slice(0, MAX_PATH_LENGTH)}…` : path;
}
