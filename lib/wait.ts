/**
 * Waiting for a condition with a deadline: the one polling helper the tests and tools share, so every
 * wait has a bound, says what it waited for, and keeps the last error it saw. A wait on something that
 * announces itself (a child's exit, an event) should listen instead; these are for state that can only
 * be read (a port, /proc, an HTTP endpoint, a server's counters).
 *
 * The loop is p-wait-for's (v6, index.js: the check runs at once, then every `interval` after the last
 * one ended; the deadline is an AbortSignal that ends the pause between checks, so a check in progress
 * is finished first). What it does not do is ours: a check that throws means "not yet" here, where
 * p-wait-for rejects with the check's error at once, so the check is wrapped and its last error kept;
 * and the deadline ends in WaitTimeoutError (our code, that error in its message and cause) through
 * p-wait-for's `timeout.fallback`, not its own TimeoutError.
 */
import pWaitFor from "p-wait-for";
import { PoolingError } from "./errors.ts";

/** A condition was not met by its deadline. */
export class WaitTimeoutError extends PoolingError {
  readonly code = "POOLING_WAIT_TIMEOUT";
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly last: unknown,
  ) {
    super(`timed out after ${formatMs(timeoutMs)} waiting for ${what}${last ? `: ${(last as Error).message ?? String(last)}` : ""}`, last instanceof Error ? { cause: last } : undefined);
  }
}

const formatMs = (ms: number) => (ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`);

/** Calls `fn` until it returns a value (not undefined, not throwing) or `timeoutMs` passes; the value. */
export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 200): Promise<T> {
  let last: unknown;
  const check = async () => {
    try {
      const v = await fn();
      return v === undefined ? false : pWaitFor.resolveWith(v);
    } catch (err) {
      last = err;
      return false;
    }
  };
  return pWaitFor(check, {
    interval: intervalMs,
    timeout: {
      milliseconds: timeoutMs,
      fallback: () => {
        throw new WaitTimeoutError(what, timeoutMs, last);
      },
    },
  });
}

/** Calls `check` until it returns true (a throw counts as false) or `timeoutMs` passes. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, intervalMs = 200): Promise<void> {
  await waitFor(what, async () => ((await check()) ? true : undefined), timeoutMs, intervalMs);
}

/** waitUntil that answers false instead of throwing when the deadline passes first. */
export async function becomesTrue(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  try {
    await waitUntil("a condition", check, timeoutMs, intervalMs);
    return true;
  } catch (err) {
    if (err instanceof WaitTimeoutError) return false;
    throw err;
  }
}
