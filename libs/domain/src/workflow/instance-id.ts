/** Instance ids: 1–200 of `[A-Za-z0-9._:-]`, and not `.` or `..` (they read as paths). */
const INSTANCE_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/** The longest instance id accepted, in characters; a longer one is rejected with INVALID_ID. */
export const MAX_INSTANCE_ID_LENGTH = 200;

/** Why `id` cannot be an instance id, or undefined when it can. */
export function instanceIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'must not be empty';
  if (id.length > MAX_INSTANCE_ID_LENGTH)
    return `must be at most ${MAX_INSTANCE_ID_LENGTH} characters, got ${id.length}`;
  if (!INSTANCE_ID.test(id)) return 'may only contain letters, digits and . _ : -';
  if (id === '.' || id === '..') return 'must not be "." or ".."';
  return undefined;
}
