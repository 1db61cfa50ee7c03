/**
 * Waiting for a condition with a deadline: the one polling helper the tests and tools share, so every
 * wait has a bound, says what it waited for, and keeps the last error it saw.
 */

import { PoolingError } from "./errors.ts";

/** A condition was not met by its deadline. */
export class WaitTimeoutError extends PoolingError {
  readonly code = "POOLING_WAIT_TIMEOUT";
  constructor(
    readonly what: string,
    readonly last: unknown,
  ) {
    super(`timed out waiting for ${what}${last ? `: ${(last as Error).message ?? String(last)}` : ""}`);
  }
}

/** Calls `fn` until it returns a value (not undefined, not throwing) or `timeoutMs` passes. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new WaitTimeoutError(what, last);
}
