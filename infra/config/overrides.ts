/**
 * Values that replace a stack file's own for one run: the local stack's `overrides` (tests use them for
 * small pools; the bench's `--sweep`, bench/sweep-spec.ts, makes one per swept value). Every value goes
 * through the same parser as the stack file.
 */

/** `b` merged over `a`: mappings key by key, anything else replaced. */
export function mergeRaw(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b)) out[k] = mergeRaw(out[k], v);
    return out;
  }
  return b;
}
